"""Is an input clean or compressed? Read from its stream, without decoding a frame.

A network trained on clean input sharpens a codec's blocks and ringing; one trained on coded
input smooths detail a clean input really has. The user rarely knows the CRF of a phone clip or
a download, so `--input-quality auto` reads how many bits the stream spends per pixel: lossy
video as people have it (streams, phones, DVDs) spends well under half a bit per pixel (libx264
CRF 12: about 0.3, CRF 23: about 0.07 on a talking head), while lossless codecs and
near-lossless intermediates spend one or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av

InputQuality = Literal["clean", "compressed"]
QUALITY_CHOICES = ("auto", "clean", "compressed")
COMPRESSED_BELOW_BPP = 0.5
"""Streams spending fewer bits per pixel than this are treated as compressed."""

LOSSLESS_CODECS = frozenset(
    {"ffv1", "huffyuv", "ffvhuff", "utvideo", "rawvideo", "png", "apng", "qtrle", "v210", "r210"}
)
LOSSLESS_H264_PROFILES = frozenset({"High 4:4:4 Predictive"})  # qp 0 uses it
IMAGE_SUFFIXES = frozenset({".png", ".bmp", ".tif", ".tiff", ".ppm"})


@dataclass(frozen=True)
class StreamQuality:
    """What the first packets of a video stream say about its coding."""

    codec: str
    bits_per_pixel: float | None  # None: nothing measurable (no packets, no size)
    lossless: bool

    @property
    def quality(self) -> InputQuality:
        return classify(self.bits_per_pixel, self.lossless)


def classify(bits_per_pixel: float | None, lossless: bool = False) -> InputQuality:
    """clean for lossless codecs and rich streams, compressed below COMPRESSED_BELOW_BPP."""
    if lossless or bits_per_pixel is None:
        return "clean"
    return "compressed" if bits_per_pixel < COMPRESSED_BELOW_BPP else "clean"


def measure_stream_quality(path: Path, max_packets: int = 300) -> StreamQuality:
    """Bits per pixel over the first `max_packets` video packets of `path` (demuxed only).

    A still image counts as one picture of its file's size; PNG-like formats are lossless.
    """
    path = Path(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        lossless = codec in LOSSLESS_CODECS or path.suffix.lower() in IMAGE_SUFFIXES
        lossless |= codec == "h264" and stream.codec_context.profile in LOSSLESS_H264_PROFILES
        pixels = stream.codec_context.width * stream.codec_context.height
        bits, pictures = 0, 0
        for packet in container.demux(stream):
            if packet.size:
                bits += packet.size * 8
                pictures += 1
            if pictures >= max_packets:
                break
    measured = bits / (pictures * pixels) if pictures and pixels else None
    return StreamQuality(codec, measured, lossless)


def resolve_input_quality(choice: str, path: Path | None) -> InputQuality:
    """`--input-quality`: clean or compressed as given; auto measures the input's stream."""
    return decide_input_quality(choice, path).quality


@dataclass(frozen=True)
class QualityDecision:
    """What `--input-quality` decided, with the measurement behind it, so a run can say why it
    picked the network it did."""

    quality: InputQuality
    measured: StreamQuality | None = None  # None: given by the user (or nothing to measure)

    def describe(self) -> str:
        """Why, in a few words: e.g. 'input looks compressed (0.07 bits/pixel)'."""
        if self.measured is None:
            return f"input given as {self.quality}"
        bpp = self.measured.bits_per_pixel
        if self.measured.lossless:
            return f"input looks {self.quality} (lossless {self.measured.codec})"
        if bpp is None:
            return f"input looks {self.quality} (no bits per pixel measurable)"
        return f"input looks {self.quality} ({bpp:.2f} bits/pixel)"


def decide_input_quality(choice: str, path: Path | None) -> QualityDecision:
    """`resolve_input_quality` with its measurement (auto on a file only)."""
    if choice not in QUALITY_CHOICES:
        raise ValueError(f"input quality must be one of {QUALITY_CHOICES}, got {choice!r}")
    if choice != "auto":
        return QualityDecision(choice)  # type: ignore[arg-type]
    if path is None:
        return QualityDecision("clean")
    measured = measure_stream_quality(path)
    return QualityDecision(measured.quality, measured)
