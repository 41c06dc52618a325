"""Part of a video: --start/--end, and the segments that parallel workers process.

A span is decoded from the keyframe before it; the face path is fed a warm-up of frames before
the span's first frame and a look-ahead after its last (both processed and dropped), so that the
tracker, the smoother, the fades and the stabiliser hold, on the kept frames, what one run over
the whole video would hold there. The plain path has no state, so it needs neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from facesr_video.enhance.face_stage import FaceOptions
from facesr_video.enhance.prepare import FACE_SCALES
from facesr_video.errors import InputError
from facesr_video.video.audio import AudioWindow
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.index import FrameIndex, index_frames

WARMUP = 30
"""Frames processed and dropped before a span (the face path): enough for the tracker's boxes,
the smoother's velocities and the fades to settle; the identity posterior keeps improving with
more (--warmup)."""

_TIME = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


def parse_time(text: str) -> float:
    """'12.5', '1:02.5' or '01:00:02.500' -> seconds; ValueError when it is none of these."""
    text = text.strip()
    match = _TIME.match(text)
    if match:
        hours, minutes, seconds = match.groups()
        if int(minutes) >= 60 or float(seconds) >= 60:
            raise ValueError(f"{text!r}: minutes and seconds run to 59")
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give seconds or HH:MM:SS[.fff]") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a time: give a finite number of seconds >= 0")
    return value


@dataclass(frozen=True)
class TimeSpan:
    """--start/--end: seconds counted from the video's first frame; end None: to the end."""

    start: float = 0.0
    end: float | None = None

    @classmethod
    def between(cls, start: float | None, end: float | None) -> TimeSpan | None:
        """The span of --start/--end as given (None: neither given, the whole video)."""
        return None if start is None and end is None else cls(start or 0.0, end)

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise InputError(
                f"--end {self.end:g} is not after --start {self.start:g}", "give a later --end"
            )


@dataclass(frozen=True)
class StageNeeds:
    """What a frame stage needs around a span: frames before (warm-up), frames after
    (look-ahead), and a frame number that the warm-up starts on a multiple of (the detector's
    period, so detection falls on the frames it falls on in a whole run)."""

    warmup: int = 0
    lookahead: int = 0
    align: int = 1


def stage_needs(faces: FaceOptions | None, scale: int, warmup: int = WARMUP) -> StageNeeds:
    """What the frame stage of these options needs around a span (nothing for the plain path).
    Look-ahead: the smoother's lag and the network's neighbours after a frame, with a margin."""
    if faces is None or scale not in FACE_SCALES:
        return StageNeeds()
    lag = faces.smooth_lag if faces.smoothing else 0
    neighbours = (faces.frames or 9) // 2
    return StageNeeds(warmup=warmup, lookahead=lag + neighbours + 2, align=faces.detect_every)


def cut(
    path: Path, span: TimeSpan | None, needs: StageNeeds
) -> tuple[FrameSpan | None, AudioWindow | None]:
    """--start/--end as the FrameSpan to decode (its frames moved to start at 0) and the audio
    window that goes with it; (None, None) for the whole video."""
    if span is None:
        return None, None
    index = index_frames(path)
    first, end = positions(index, span)
    frames = frame_span(index, first, end, needs, shift=True)
    return frames, audio_window(index, frames)


@dataclass(frozen=True)
class FrameSpan:
    """Frames by pts: decode from `seek_pts` (a keyframe, frame number `seek_index`), feed the
    stage from `feed_pts`, keep [first_pts, end_pts), stop decoding at `stop_pts` (None: the
    end). Kept frames leave with their pts less `shift`."""

    seek_pts: int
    seek_index: int
    feed_pts: int
    first_pts: int
    end_pts: int | None
    stop_pts: int | None
    frames: int  # frames kept
    shift: int = 0
    previous_pts: int | None = None  # the frame before `feed_pts` (None: there is none)


def positions(index: FrameIndex, span: TimeSpan) -> tuple[int, int]:
    """[first, end) frame positions of a time span; InputError when it holds no frame."""
    first = index.first_at(span.start)
    end = len(index) if span.end is None else index.first_at(span.end)
    if first >= end:
        last = index.seconds(len(index) - 1)
        raise InputError(
            f"no frame between --start {span.start:g} and --end {span.end or last:g} s "
            f"(the last frame is at {last:.3f} s)",
            "give a range inside the video",
        )
    return first, end


def frame_span(
    index: FrameIndex, first: int, end: int, needs: StageNeeds, shift: bool = False
) -> FrameSpan:
    """The FrameSpan keeping frames [first, end) of `index`, with warm-up and look-ahead;
    `shift`: kept frames move so that the first one is at 0."""
    feed = max(0, first - needs.warmup)
    feed -= feed % max(1, needs.align)
    seek = index.keyframe_at_or_before(feed)
    stop = end + needs.lookahead
    pts = index.pts
    return FrameSpan(
        seek_pts=int(pts[seek]),
        seek_index=seek,
        feed_pts=int(pts[feed]),
        first_pts=int(pts[first]),
        end_pts=int(pts[end]) if end < len(index) else None,
        stop_pts=int(pts[stop]) if stop < len(index) else None,
        frames=end - first,
        shift=int(pts[first]) if shift else 0,
        previous_pts=int(pts[feed - 1]) if feed > 0 else None,
    )


def audio_window(index: FrameIndex, span: FrameSpan) -> AudioWindow:
    """The audio that goes with a span: from its first frame to where its video ends, moved
    as its frames are. The whole video keeps everything, before its first frame included."""
    base, tb = int(index.pts[0]), index.time_base
    start = None if span.first_pts == base else float(span.first_pts * tb)
    end = None if span.end_pts is None else float(span.end_pts * tb)
    return AudioWindow(start=start, end=end, shift=float(span.shift * tb))


def span_frames(
    decoder: VideoDecoder,
    stage: Callable[[Iterator[Frame]], Iterator[Frame]],
    span: FrameSpan | None,
) -> Iterator[Frame]:
    """The stage's output frames of `span` (all of them when None): decoded from the keyframe,
    warm-up and look-ahead frames processed and dropped."""
    if span is None:
        yield from stage(iter(decoder))
        return
    decoder.start_at(span.seek_pts, span.seek_index)
    for frame in stage(_fed(decoder, span)):
        if span.end_pts is not None and frame.pts >= span.end_pts:
            return  # the rest is look-ahead
        if frame.pts >= span.first_pts:
            yield replace(frame, pts=frame.pts - span.shift)


def _fed(decoder: VideoDecoder, span: FrameSpan) -> Iterator[Frame]:
    """Decoded frames from the warm-up to the look-ahead's end, each with the duration a whole
    run's encoder would give it (its own, else the step from the frame before)."""
    previous = span.previous_pts
    for frame in decoder:
        if span.stop_pts is not None and frame.pts >= span.stop_pts:
            return
        step = frame.pts - previous if previous is not None else 0
        previous = frame.pts
        if frame.pts >= span.feed_pts:
            yield frame if frame.duration else replace(frame, duration=step)
