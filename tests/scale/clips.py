"""Clips for the segment tests: keyframes at a known period, moving content, a tone."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_gop_clip(
    path: Path,
    frames: int = 90,
    gop: int = 15,
    size: tuple[int, int] = (64, 48),
    rate: int = 30,
    audio_seconds: float | None = None,
    pts: list[int] | None = None,
) -> Path:
    """A libx264 clip with a keyframe every `gop` frames (time base 1/90000; `pts` for a
    variable frame rate), a moving square over a changing ground, and an AAC tone as long as
    the video (or `audio_seconds`; 0 for none)."""
    width, height = size
    time_base = Fraction(1, 90000)
    pts = pts if pts is not None else [i * 90000 // rate for i in range(frames)]
    seconds = audio_seconds if audio_seconds is not None else len(pts) / rate
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        video.codec_context.options = {"preset": "fast", "g": str(gop), "keyint_min": str(gop)}
        audio = container.add_stream("aac", rate=44100, layout="mono") if seconds else None
        for i, p in enumerate(pts):
            rgb = np.zeros((height, width, 3), np.uint8)
            rgb[:] = (i * 5 % 200, 60, 200 - i * 3 % 150)
            x = (i * 2) % (width - 12)
            rgb[height // 3 : height // 3 + 12, x : x + 12] = 255
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = p, time_base
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            _write_tone(container, audio, seconds)
    return path


def _write_tone(container, audio, seconds: float) -> None:
    n = int(seconds * 44100)
    tone = (0.2 * np.sin(np.arange(n) * 2 * np.pi * 440 / 44100)).astype(np.float32)
    for start in range(0, n, 1024):
        chunk = np.ascontiguousarray(tone[None, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(chunk, "fltp", "mono")
        frame.sample_rate, frame.pts, frame.time_base = 44100, start, Fraction(1, 44100)
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode(None):
        container.mux(packet)


def read_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """PSNR (dB) over two equally long frame lists; inf when identical."""
    mse = np.mean(
        [np.mean((x.astype(float) - y.astype(float)) ** 2) for x, y in zip(a, b, strict=True)]
    )
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def reencode(src: Path, dst: Path, gop: int, frames: int | None = None) -> Path:
    """`src`'s first `frames` video frames (all when None) at their own timestamps, near
    losslessly with a keyframe every `gop` frames; no audio."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as container:
        stream = source.streams.video[0]
        video = container.add_stream("libx264", rate=stream.average_rate)
        video.width, video.height, video.pix_fmt = stream.width, stream.height, "yuv420p"
        video.time_base = video.codec_context.time_base = stream.time_base
        video.codec_context.options = {"crf": "10", "g": str(gop), "keyint_min": str(gop)}
        for i, frame in enumerate(source.decode(stream)):
            if frames is not None and i >= frames:
                break
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            copy = copy.reformat(format="yuv420p")
            copy.pts, copy.time_base = frame.pts, frame.time_base
            for packet in video.encode(copy):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return dst
