"""Search windows around tracked faces and merging detections from overlapping passes."""

from __future__ import annotations

import pytest

from facesr_video.faces.detect import Detection
from facesr_video.faces.search import merge_detections, search_window


def test_window_surrounds_the_box_at_the_scale_its_size_needs() -> None:
    window, scale = search_window((100, 50, 140, 90), (180, 320), 0.5, 110.0, 5.0)
    assert window == (80, 30, 161, 111)
    assert scale == pytest.approx(110 / 40)
    # Never enlarged beyond the full scan's scale, and a big face is shrunk.
    assert search_window((100, 50, 140, 90), (180, 320), 0.5, 110.0, 2.0)[1] == 2.0
    assert search_window((0, 0, 200, 200), (300, 300), 0.5, 110.0, 5.0)[1] == pytest.approx(0.55)


def test_window_is_clipped_to_the_frame_or_none_off_it() -> None:
    window, _ = search_window((-10, -10, 20, 20), (90, 160), 0.5, 110.0, 4.0)
    assert window == (0, 0, 36, 36)
    assert search_window((200, 10, 240, 50), (90, 160), 0.5, 110.0, 4.0)[0] is None


def test_merge_keeps_the_best_of_overlapping_boxes() -> None:
    a = Detection((10, 10, 50, 50), 0.4)
    b = Detection((12, 11, 52, 51), 0.9)  # the same face found by another pass
    c = Detection((60, 10, 100, 50), 0.2)  # a neighbour
    assert merge_detections([a, c, b]) == [b, c]
    assert merge_detections([]) == []
