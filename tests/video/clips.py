"""Helpers for the video tests: write small synthetic clips with PyAV and read streams back."""

from __future__ import annotations

import struct
from collections.abc import Iterator
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
    video_tags: dict[str, str] | None = None,
    audio_tags: dict[str, str] | None = None,
) -> Path:
    """A clip whose frames sit at `pts` (variable frame rate allowed), with optional AAC tone;
    ultrafast, so without B-frames (decode order = presentation order)."""
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.codec_context.options = {"preset": "ultrafast"}
        stream.metadata.update(video_tags or {})
        if rotation:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=44100, layout="mono")
            audio.metadata.update(audio_tags or {})
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


# Matroska element ids (EBML) that the damaging helpers below walk through.
_SEGMENT, _CLUSTER, _SIMPLE_BLOCK = 0x18538067, 0x1F43B675, 0xA3


def _ebml_number(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length number at `pos`: (value, position after it)."""
    length = 9 - data[pos].bit_length()
    value = data[pos] if keep_marker else data[pos] & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _ebml_children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(element id, where its size is, payload start, payload end) of the elements in a range."""
    pos = start
    while pos < end:
        element, size_at = _ebml_number(data, pos, keep_marker=True)
        size, pos = _ebml_number(data, size_at, keep_marker=False)
        yield element, size_at, pos, min(pos + size, end)
        pos += size


def _blocks(data: bytes, track: int) -> list[tuple[int, int]]:
    """(where its size is, where its 16-bit relative timestamp is) of each SimpleBlock of a
    Matroska track, in file order."""
    found = []
    for segment, _, start, end in _ebml_children(data, 0, len(data)):
        if segment != _SEGMENT:
            continue
        for cluster, _, c_start, c_end in _ebml_children(data, start, end):
            if cluster != _CLUSTER:
                continue
            for block, size_at, b_start, _ in _ebml_children(data, c_start, c_end):
                if block != _SIMPLE_BLOCK:
                    continue
                number, timestamp_at = _ebml_number(data, b_start, keep_marker=False)
                if number == track:
                    found.append((size_at, timestamp_at))
    return found


def move_audio_block(src: Path, dst: Path, where: float, milliseconds: int) -> Path:
    """A copy of a write_clip Matroska clip whose audio block at `where` (0..1 through the
    stream) is `milliseconds` earlier: the damage a few flipped bits in a block header do."""
    data = bytearray(src.read_bytes())
    blocks = _blocks(bytes(data), track=2)  # write_clip: video 1, audio 2
    _, at = blocks[int(where * len(blocks))]
    (relative,) = struct.unpack(">h", data[at : at + 2])
    data[at : at + 2] = struct.pack(">h", relative - milliseconds)
    dst.write_bytes(bytes(data))
    return dst


def break_video_block(src: Path, dst: Path, where: float) -> Path:
    """A copy of a write_clip Matroska clip whose video block at `where` (0..1 through the
    stream) claims the largest size its header holds: the demuxer loses its way and stops
    there, as at a damaged block header, while the file still announces the whole duration."""
    data = bytearray(src.read_bytes())
    blocks = _blocks(bytes(data), track=1)
    size_at, timestamp_at = blocks[int(where * len(blocks))]
    length = timestamp_at - 1 - size_at  # the size's bytes (track number 1 takes one byte)
    largest = (1 << (7 * length)) - 2  # all ones would mean "unknown size"
    data[size_at : size_at + length] = ((1 << (8 * length - length)) | largest).to_bytes(length)
    dst.write_bytes(bytes(data))
    return dst


def smooth_frames(count: int = 12, size: tuple[int, int] = (72, 96)) -> list[np.ndarray]:
    """A lit gradient with a moving disc: content a codec codes about as cheaply as footage."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for t in range(count):
        disc = ((x - 20 - 3 * t) ** 2 + (y - h / 2) ** 2) < 12**2
        base = 60 + 120 * x / w + 40 * y / h
        rgb = np.stack([base, base * 0.8, base * 0.6], -1) + 50 * disc[..., None]
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return frames


def write_coded_clip(path: Path, codec: str, options: dict[str, str], pix_fmt: str) -> Path:
    """smooth_frames() coded with `codec` (e.g. libx264 {"crf": "30"}, or ffv1 for lossless)."""
    frames = smooth_frames()
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.options = options
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path
