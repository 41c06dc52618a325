"""Streaming decode of the first video stream into RGB frames with their timestamps.

Policy for truncated or corrupt input: decode what decodes. A packet that fails to decode is
skipped, and the frames lost are counted against the container's frame count where the container
knows it (mp4/mov with an index). Where it knows only the video's duration (mkv's DURATION tag),
the seconds missing at the end are measured instead. The caller reports either in one warning
line; the run still succeeds. A file where no frame decodes at all is refused by `probe` before
anything starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from facesr_video.video.probe import open_input


@dataclass(frozen=True)
class Frame:
    """One video frame: `rgb` (H, W, 3) uint8; `pts` and `duration` in units of `time_base`."""

    index: int
    pts: int
    time_base: Fraction
    duration: int  # 0 when unknown
    rgb: np.ndarray = field(repr=False)

    @property
    def time(self) -> float:
        return float(self.pts * self.time_base)

    def with_rgb(self, rgb: np.ndarray) -> Frame:
        """The same frame (index, timing) carrying other pixels, e.g. upscaled."""
        return Frame(self.index, self.pts, self.time_base, self.duration, rgb)


@dataclass
class DecodeStats:
    """Filled in while decoding; final once the iterator is exhausted."""

    decoded: int = 0
    failed_packets: int = 0
    expected: int | None = None  # container's frame count, when known
    announced_end: float | None = None  # seconds: where the container says the video ends
    decoded_end: float | None = None  # seconds: end of the last frame decoded
    last_frame: float = 0.0  # seconds: the last frame's duration

    @property
    def lost(self) -> int:
        """Frames the container announced but that did not decode (0 when the count is unknown)."""
        if self.expected is None:
            return 0
        return max(0, self.expected - self.decoded)

    @property
    def missing_seconds(self) -> float:
        """Video the container announces after the last decoded frame (0 when unknown, or
        within two frames or 0.1 s: rounding, not loss)."""
        if self.announced_end is None or self.decoded_end is None:
            return 0.0
        missing = self.announced_end - self.decoded_end
        return missing if missing > max(0.1, 2 * self.last_frame) else 0.0


def announced_end(stream: av.video.stream.VideoStream) -> float | None:
    """Seconds at which the container says the video stream ends: its duration (mp4/mov), or
    its DURATION tag (mkv/webm, "HH:MM:SS.nnnnnnnnn"), after its start; None if it does not."""
    start = float((stream.start_time or 0) * stream.time_base)
    if stream.duration:
        return start + float(stream.duration * stream.time_base)
    tag = next((v for k, v in stream.metadata.items() if k.lower() == "duration"), None)
    try:
        hours, minutes, seconds = (tag or "").split(":")
        return start + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


class VideoDecoder:
    """Iterate over a file's frames in presentation order, one at a time (bounded memory)."""

    def __init__(self, path: str | Path, threads: bool = True) -> None:
        self.path = Path(path)
        self.threads = threads
        self.stats = DecodeStats()
        self.start_pts: int | None = None  # see start_at
        self.start_index = 0

    def start_at(self, pts: int, index: int) -> None:
        """Begin at the keyframe at `pts` (frame number `index` of the video) instead of the
        first frame: the container seeks there, frames before it are dropped, and frames are
        numbered from `index` on. Frames lost are then not counted (the count is the whole's)."""
        self.start_pts, self.start_index = pts, index

    def __iter__(self) -> Iterator[Frame]:
        with open_input(self.path) as container:
            stream = container.streams.video[0]
            if self.threads:
                stream.thread_type = "AUTO"
            if self.start_pts is not None:
                container.seek(self.start_pts, stream=stream, backward=True, any_frame=False)
            else:
                self.stats.expected = stream.frames or None
                self.stats.announced_end = announced_end(stream)
            yield from self._frames(container, stream)

    def _frames(self, container, stream) -> Iterator[Frame]:
        time_base = stream.time_base
        previous_pts: int | None = None
        previous_duration = 0
        index = self.start_index
        for raw in self._decoded(container, stream):
            if self.start_pts is not None and raw.pts is not None and raw.pts < self.start_pts:
                continue  # before the keyframe asked for (leading pictures of an open GOP)
            pts = raw.pts
            if pts is None:  # raw streams without timestamps: continue from the previous frame
                pts = 0 if previous_pts is None else previous_pts + max(previous_duration, 1)
            if previous_pts is not None and pts <= previous_pts:
                pts = previous_pts + 1  # keep timestamps strictly increasing for the muxer
            duration = int(raw.duration or 0)
            rgb = raw.to_ndarray(format="rgb24", src_color_range=raw.color_range or None)
            yield Frame(index=index, pts=pts, time_base=time_base, duration=duration, rgb=rgb)
            index += 1
            self.stats.decoded += 1
            step = duration or (pts - previous_pts if previous_pts is not None else 0)
            self.stats.last_frame = float(step * time_base)
            self.stats.decoded_end = float((pts + step) * time_base)
            previous_pts, previous_duration = pts, duration

    def _decoded(self, container, stream) -> Iterator[av.VideoFrame]:
        """Decode packet by packet so that one bad packet costs its frame, not the rest."""
        codec = stream.codec_context
        try:
            for packet in container.demux(stream):
                try:
                    yield from codec.decode(packet)  # an empty packet flushes at the end
                except av.error.InvalidDataError:
                    self.stats.failed_packets += 1
        except av.error.FFmpegError:  # the demuxer gave up (truncated file): stop here
            self.stats.failed_packets += 1
            with contextlib.suppress(av.error.FFmpegError):
                yield from codec.decode(None)
