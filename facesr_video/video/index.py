"""Every frame's timestamp and the keyframes of a video, read by demuxing alone (no decode).

Cutting a video (a time range, or segments for parallel workers) needs to know where each frame
sits and where decoding can start. Demuxing the packets is cheap (no pixels), so the index of an
hour of video takes a second or two and 8 bytes per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from facesr_video.errors import InputError
from facesr_video.video.probe import open_input


@dataclass(frozen=True)
class FrameIndex:
    """Frames in presentation order: `pts` (N,) int64 in `time_base`; `keyframes` (K,) int64,
    ascending positions in `pts` where decoding can start."""

    pts: np.ndarray
    keyframes: np.ndarray
    time_base: Fraction

    def __len__(self) -> int:
        return len(self.pts)

    def seconds(self, position: int) -> float:
        """Time of frame `position` after the first frame (what a player shows)."""
        return float((int(self.pts[position]) - int(self.pts[0])) * self.time_base)

    def first_at(self, seconds: float) -> int:
        """Position of the first frame at or after `seconds` (counted from the first frame);
        len(self) when there is none."""
        ticks = int(self.pts[0]) + seconds / self.time_base
        return int(np.searchsorted(self.pts, np.ceil(ticks - 1e-6), side="left"))

    def keyframe_at_or_before(self, position: int) -> int:
        """The last keyframe at or before `position` (the first frame when there is none)."""
        found = int(np.searchsorted(self.keyframes, position, side="right")) - 1
        return int(self.keyframes[found]) if found >= 0 else 0


def index_frames(path: str | Path) -> FrameIndex:
    """Demux the first video stream's packets into a FrameIndex; InputError when the packets
    carry no usable timestamps (then the video can only be processed whole)."""
    path = Path(path)
    pts: list[int] = []
    keys: list[int] = []
    with open_input(path) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker
            if packet.pts is None:
                raise _uncuttable(path, "its video packets carry no timestamps")
            pts.append(int(packet.pts))
            keys.append(bool(packet.is_keyframe))
    if not pts:
        raise InputError(f"no video packets found: {path}")
    order = np.argsort(np.asarray(pts, np.int64), kind="stable")
    sorted_pts = np.asarray(pts, np.int64)[order]
    if np.any(np.diff(sorted_pts) <= 0):
        raise _uncuttable(path, "two of its video frames share a timestamp")
    is_key = np.asarray(keys, bool)[order]
    keyframes = np.flatnonzero(is_key).astype(np.int64)
    return FrameIndex(pts=sorted_pts, keyframes=keyframes, time_base=Fraction(time_base))


def _uncuttable(path: Path, why: str) -> InputError:
    return InputError(
        f"cannot cut {path}: {why}", "process it whole (leave out --start, --end and --workers)"
    )
