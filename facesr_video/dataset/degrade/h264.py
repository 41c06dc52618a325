"""H.264 round trips: what the frames of a clip look like after libx264 at a given CRF.

Compressed video is the input most users have, so training and `evaluate --degradation h264`
both need the codec's real artefacts (4:2:0 chroma, block DCT, deblocking), not a JPEG stand-in.
Frames are (H, W, 3) uint8 RGB at the video edge; odd sizes are padded by edge replication to
the even sizes 4:2:0 needs, and cropped back after decoding.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def _pad_even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class H264Stream:
    """A streaming H.264 round trip, one frame in, the same frame decoded out (no delay).

    libx264 with `tune=zerolatency` (no B-frames, no look-ahead) and a single-threaded decoder
    give one packet and one picture per frame, so a clip can be degraded frame by frame with
    bounded memory, inter prediction included (P-frames refer to the previous pictures).
    """

    def __init__(self, crf: int = 23, preset: str = "veryfast", fps: int = 25) -> None:
        self.crf, self.preset, self.fps = int(crf), preset, fps
        self._encoder: av.CodecContext | None = None
        self._decoder: av.CodecContext | None = None
        self._size = (0, 0)
        self._count = 0
        self.bits = 0  # coded so far: bits / (pictures x pixels) is the stream's bits per pixel

    def _open(self, height: int, width: int) -> None:
        encoder = av.CodecContext.create("libx264", "w")
        encoder.width, encoder.height = width + width % 2, height + height % 2
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = Fraction(1, self.fps)
        encoder.framerate = Fraction(self.fps, 1)
        encoder.options = {"crf": str(self.crf), "preset": self.preset, "tune": "zerolatency"}
        encoder.thread_count = 1
        decoder = av.CodecContext.create("h264", "r")
        decoder.thread_count = 1
        self._encoder, self._decoder, self._size = encoder, decoder, (height, width)

    @property
    def bits_per_pixel(self) -> float | None:
        """Bits the coded pictures took per pixel (None before the first picture)."""
        height, width = self._size
        return self.bits / (self._count * height * width) if self._count else None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """frame (H, W, 3) uint8 RGB, the same size every call -> its decoded picture."""
        height, width = frame.shape[:2]
        if self._encoder is None:
            self._open(height, width)
        if (height, width) != self._size:
            raise ValueError(f"H264Stream got a {width}x{height} frame after {self._size[::-1]}")
        assert self._encoder is not None and self._decoder is not None
        picture = av.VideoFrame.from_ndarray(_pad_even(np.ascontiguousarray(frame)), "rgb24")
        picture.pts = self._count
        self._count += 1
        packets = self._encoder.encode(picture)
        self.bits += 8 * sum(packet.size for packet in packets)
        decoded = [out for packet in packets for out in self._decoder.decode(packet)]
        if len(decoded) != 1:
            raise RuntimeError(f"H.264 stream returned {len(decoded)} pictures for one frame")
        return np.ascontiguousarray(decoded[0].to_ndarray(format="rgb24")[:height, :width])
