"""Where to cut a video into segments: at keyframes, near equal shares of the frames.

A segment is decoded from the keyframe before its warm-up, so a cut could fall on any frame;
cutting at a keyframe saves decoding the frames between that keyframe and the cut twice. Where
the input has too few keyframes near an equal share (long GOPs), the cut falls between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesr_video.enhance.span import FrameSpan, StageNeeds, frame_span
from facesr_video.video.index import FrameIndex

SNAP = 0.25
"""A cut moves to the nearest keyframe when that is within this share of a segment's length."""


@dataclass(frozen=True)
class Segment:
    """Frames [first, end) of the video (positions in presentation order) and how to decode them."""

    number: int
    first: int
    end: int
    span: FrameSpan

    @property
    def frames(self) -> int:
        return self.end - self.first


def cut_points(index: FrameIndex, first: int, end: int, count: int) -> list[int]:
    """Positions where segments 1..count-1 start within [first, end): the keyframe nearest each
    equal share when one is near enough, else the share itself; never two at one frame."""
    count = max(1, min(count, end - first))
    length = (end - first) / count
    keys = index.keyframes[(index.keyframes > first) & (index.keyframes < end)]
    cuts: list[int] = []
    for k in range(1, count):
        ideal = first + round(k * length)
        cut = ideal
        if len(keys):
            nearest = int(keys[np.argmin(np.abs(keys - ideal))])
            if abs(nearest - ideal) <= SNAP * length:
                cut = nearest
        if cut > (cuts[-1] if cuts else first) and cut < end:
            cuts.append(cut)
    return cuts


def plan_segments(
    index: FrameIndex, first: int, end: int, count: int, needs: StageNeeds
) -> list[Segment]:
    """Frames [first, end) of `index` as up to `count` segments, each with its warm-up and
    look-ahead (`needs`); timestamps are kept (the join moves them, if at all)."""
    bounds = [first, *cut_points(index, first, end, count), end]
    return [
        Segment(number, a, b, frame_span(index, a, b, needs))
        for number, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
