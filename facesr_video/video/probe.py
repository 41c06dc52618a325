"""Probe a media file: what the encoder needs to reproduce it (streams, timing, rotation, colour).

Probing also decodes the first video frame, because rotation and colour tags live reliably only
on decoded frames, and because a file whose video does not decode at all should be refused here,
before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from facesr_video.errors import InputError

# Stream tags describing the input's encoded data, stale once re-encoded or remuxed: never copied.
_STALE_TAGS = {"encoder", "vendor_id", "duration", "bps", "number_of_frames", "number_of_bytes"}

# Demuxers that read a single still image: a photo is not a video.
_IMAGE_FORMAT_SUFFIXES = ("_pipe",)
_IMAGE_FORMATS = {"image2", "image2pipe"}


@dataclass(frozen=True)
class ColourTags:
    """FFmpeg's colour enums as ints (0 or 2 mean unspecified), carried from input to output."""

    range: int
    space: int
    primaries: int
    transfer: int


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    time_base: Fraction
    duration: float | None  # seconds


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    time_base: Fraction
    average_rate: Fraction | None  # frames per second, None when the container does not say
    guessed_rate: Fraction | None
    frame_count: int | None  # from the container index; None when unknown
    start_time: float | None  # seconds
    duration: float | None  # seconds
    rotation: int  # degrees, as in the display matrix (counter-clockwise)
    colour: ColourTags
    tags: tuple[tuple[str, str], ...] = ()  # language, title...: see `stream_tags`


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    format: str
    duration: float | None  # seconds, whole container
    video: VideoStreamInfo
    audio: tuple[AudioStreamInfo, ...]

    @property
    def expected_frames(self) -> int | None:
        """Frame count from the index, else estimated from duration x rate (for progress only)."""
        v = self.video
        if v.frame_count:
            return v.frame_count
        seconds = v.duration or self.duration
        rate = v.average_rate or v.guessed_rate
        if seconds and rate:
            return max(1, round(seconds * float(rate)))
        return None


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, turning every failure into one InputError line."""
    if not path.exists():
        raise InputError(f"input not found: {path}", "check the path")
    if path.is_dir():
        raise InputError(f"input is a folder, not a video file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"input is empty (0 bytes): {path}")
    try:
        return av.open(str(path), mode="r")
    except PermissionError as error:
        raise InputError(f"input not readable: {path}", "check its permissions") from error
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise InputError(
            f"not a video file FFmpeg can read: {path}", "give a video such as .mp4 or .mkv"
        ) from error


def stream_tags(metadata: dict[str, str]) -> dict[str, str]:
    """The tags of an input stream worth carrying to its output stream (language, title,
    handler name...), without those describing the input's encoding (encoder, mkv statistics).

    mp4/mov read a track title as `name` and write it from `title`, so `name` becomes `title`.
    """
    tags = {
        key: value
        for key, value in metadata.items()
        if key.lower() not in _STALE_TAGS and not key.lower().startswith("_statistics")
    }
    if "name" in tags and not any(key.lower() == "title" for key in tags):
        tags["title"] = tags.pop("name")
    return tags


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _bit_depth(pix_fmt: str) -> int:
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except Exception:  # unknown or hardware format
        return 8


def probe(path: str | Path) -> VideoInfo:
    """Describe IN's container, first video stream and audio streams; InputError when unusable."""
    path = Path(path)
    with open_input(path) as container:
        fmt = container.format.name
        if fmt in _IMAGE_FORMATS or fmt.endswith(_IMAGE_FORMAT_SUFFIXES):
            raise InputError(f"input is a still image, not a video: {path}")
        if not container.streams.video:
            kind = "audio only" if container.streams.audio else "no video stream"
            raise InputError(f"input has no video stream ({kind}): {path}")
        stream = container.streams.video[0]
        first = _first_frame(container, stream, path)
        audio = tuple(
            AudioStreamInfo(
                index=a.index,
                codec=a.codec_context.name,
                sample_rate=a.codec_context.sample_rate,
                channels=a.codec_context.channels,
                time_base=a.time_base,
                duration=_seconds(a.duration, a.time_base),
            )
            for a in container.streams.audio
            if a.codec_context is not None
        )
        cc = stream.codec_context
        pix_fmt = first.format.name
        video = VideoStreamInfo(
            index=stream.index,
            codec=cc.name,
            width=first.width,
            height=first.height,
            pix_fmt=pix_fmt,
            bit_depth=_bit_depth(pix_fmt),
            time_base=stream.time_base,
            average_rate=stream.average_rate or None,
            guessed_rate=stream.guessed_rate or None,
            frame_count=stream.frames or None,
            start_time=_seconds(stream.start_time, stream.time_base),
            duration=_seconds(stream.duration, stream.time_base),
            rotation=int(first.rotation or 0),
            colour=ColourTags(
                range=int(first.color_range),
                space=int(first.colorspace),
                primaries=int(first.color_primaries),
                transfer=int(first.color_trc),
            ),
            tags=tuple(stream_tags(dict(stream.metadata)).items()),
        )
        duration = container.duration / av.time_base if container.duration else None
        return VideoInfo(path=path, format=fmt, duration=duration, video=video, audio=audio)


def _first_frame(container, stream, path: Path) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as error:
        raise InputError(f"video stream does not decode (corrupt file?): {path}") from error
    raise InputError(f"no video frame could be decoded (truncated or corrupt file?): {path}")
