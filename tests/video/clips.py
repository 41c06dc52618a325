"""Helpers for the video tests: write small synthetic clips with PyAV and read streams back."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_clip(
    path: Path,
    pts: list[int],
    time_base: Fraction = Fraction(1, 90000),
    size: tuple[int, int] = (64, 48),
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    duration: int | None = None,
    audio_seconds: float = 0.0,
    codec: str = "libx264",
) -> Path:
    """A clip whose frames sit at `pts` (variable frame rate allowed), with optional AAC tone."""
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.codec_context.options = {"preset": "ultrafast"}
        if rotation:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=44100, layout="mono")
        for i, p in enumerate(pts):
            rgb = np.full((height, width, 3), (i * 37) % 256, np.uint8)
            rgb[: height // 2] = rng.integers(0, 255, (height // 2, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts, frame.time_base = p, time_base
            if duration:
                frame.duration = duration
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if audio is not None:
            n = int(audio_seconds * 44100)
            tone = (0.2 * np.sin(np.arange(n) * 2 * np.pi * 440 / 44100)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[None, start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), "fltp", "mono")
                frame.sample_rate, frame.pts = 44100, start
                frame.time_base = Fraction(1, 44100)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return path


@dataclass(frozen=True)
class VideoReadBack:
    times: list[Fraction]  # presentation time of each frame, seconds
    width: int
    height: int
    pix_fmt: str
    rotation: int
    end: Fraction  # end of the last frame, seconds (pts + duration)


def read_video(path: Path) -> VideoReadBack:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [
            (f.pts, f.duration, f.width, f.height, f.format.name, f.rotation)
            for f in container.decode(stream)
        ]
        tb = stream.time_base
    last = frames[-1]
    return VideoReadBack(
        times=[p * tb for p, *_ in frames],
        width=last[2],
        height=last[3],
        pix_fmt=last[4],
        rotation=int(last[5] or 0),
        end=(last[0] + (last[1] or 0)) * tb,
    )


@dataclass(frozen=True)
class AudioReadBack:
    codec: str
    payloads: list[bytes]
    start: Fraction
    end: Fraction  # end of the last packet, seconds
    frame_seconds: Fraction  # duration of one packet (one audio frame)


def read_audio(path: Path) -> list[AudioReadBack]:
    """Per audio stream: its packets' payloads and the time span they cover."""
    with av.open(str(path)) as container:
        streams = list(container.streams.audio)
        packets: dict[int, list[av.Packet]] = {s.index: [] for s in streams}
        for packet in container.demux(*streams):
            if packet.size:
                packets[packet.stream.index].append(packet)
        result = []
        for stream in streams:
            ps = packets[stream.index]
            tb = stream.time_base
            durations = [p.duration for p in ps if p.duration]
            frame = Fraction(max(durations) if durations else 0) * tb
            first = ps[0].pts if ps[0].pts is not None else ps[0].dts
            last = ps[-1].pts if ps[-1].pts is not None else ps[-1].dts
            result.append(
                AudioReadBack(
                    codec=stream.codec_context.name,
                    payloads=[bytes(p) for p in ps],
                    start=first * tb,
                    end=last * tb + Fraction(ps[-1].duration or 0) * tb,
                    frame_seconds=frame,
                )
            )
    return result


def write_audio_only(path: Path) -> Path:
    """A file with one short AAC stream and no video stream."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        frame.sample_rate, frame.pts = 44100, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path
