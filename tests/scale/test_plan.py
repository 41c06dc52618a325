"""scale/plan.py and devices.py: where segments are cut, and which device each worker gets."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from facesr_video.enhance.span import StageNeeds
from facesr_video.scale.devices import worker_devices
from facesr_video.scale.plan import cut_points, plan_segments
from facesr_video.video.index import FrameIndex


def _index(frames: int, keyframes: list[int]) -> FrameIndex:
    return FrameIndex(
        pts=np.arange(frames, dtype=np.int64) * 3000,
        keyframes=np.asarray(keyframes, np.int64),
        time_base=Fraction(1, 90000),
    )


def test_cuts_snap_to_the_nearest_keyframe() -> None:
    index = _index(100, [0, 12, 24, 36, 48, 60, 72, 84, 96])
    assert cut_points(index, 0, 100, 2) == [48]
    assert cut_points(index, 0, 100, 4) == [24, 48, 72]


def test_without_keyframes_near_a_share_the_cut_falls_between_them() -> None:
    index = _index(100, [0])  # one long GOP
    assert cut_points(index, 0, 100, 2) == [50]
    assert cut_points(index, 0, 3, 8) == [1, 2]  # never more segments than frames


def test_segments_cover_the_range_once_with_warmup_and_lookahead() -> None:
    index = _index(100, list(range(0, 100, 10)))
    segments = plan_segments(index, 5, 95, 3, StageNeeds(warmup=7, lookahead=4, align=2))
    assert [(s.first, s.end) for s in segments] == [(5, 30), (30, 60), (60, 95)]
    assert sum(s.frames for s in segments) == 90
    second = segments[1].span
    pts = index.pts
    assert second.feed_pts == pts[22]  # 30 - 7 = 23, down to a multiple of 2
    assert second.seek_pts == pts[20]  # decoding starts at the keyframe before
    assert (second.first_pts, second.end_pts, second.stop_pts) == (pts[30], pts[60], pts[64])
    assert segments[-1].span.stop_pts == pts[99]  # the look-ahead reads past the range
    assert plan_segments(index, 0, 100, 2, StageNeeds(lookahead=4))[-1].span.stop_pts is None


def test_devices_are_dealt_to_workers_in_turn() -> None:
    assert worker_devices("cuda:0,cuda:1", 4) == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert worker_devices("cuda:0, cuda:1", 1) == ["cuda:0"]
    assert worker_devices("cpu", 2) == ["cpu", "cpu"]
