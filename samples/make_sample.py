"""Make samples/crema_d_1001_HAP_120x90.mp4: one CREMA-D clip downscaled x4 (H.264 + AAC).

Run from the repository root: python samples/make_sample.py [path/to/1001_DFA_HAP_XX.flv]
The source lives in ../shared/data/videos/crema_d (see samples/README.md for its licence).
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
from PIL import Image

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared/data/videos/crema_d/1001_DFA_HAP_XX.flv"
OUT = HERE / "crema_d_1001_HAP_120x90.mp4"
FACTOR = 4


def make(source: Path = SOURCE, out: Path = OUT) -> Path:
    """Area-downscale every frame x4 keeping each pts; re-encode the mp3 audio as AAC."""
    with av.open(str(source)) as src, av.open(str(out), "w") as dst:
        vin, ain = src.streams.video[0], src.streams.audio[0]
        width, height = vin.codec_context.width // FACTOR, vin.codec_context.height // FACTOR
        vout = dst.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.time_base = vout.codec_context.time_base = vin.time_base
        vout.codec_context.options = {"crf": "20", "preset": "slow"}
        aout = dst.add_stream("aac", rate=ain.codec_context.sample_rate, layout="mono")
        aout.bit_rate = 48000
        for packet in src.demux(vin, ain):
            stream = vout if packet.stream is vin else aout
            for frame in packet.decode():
                if stream is vout:
                    small = frame.to_image().resize((width, height), Image.Resampling.BOX)
                    new = av.VideoFrame.from_image(small)
                    new.pts, new.time_base = frame.pts, frame.time_base
                    frame = new
                else:
                    frame.pts = None  # the encoder counts samples itself
                for out_packet in stream.encode(frame):
                    dst.mux(out_packet)
        for stream in (vout, aout):
            for out_packet in stream.encode(None):
                dst.mux(out_packet)
    return out


if __name__ == "__main__":
    path = make(Path(sys.argv[1])) if len(sys.argv) > 1 else make()
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
