"""Tracker on synthetic moving boxes: stable ids through gaps and crossings, birth and death."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.faces.track import Tracker, TrackerConfig, iou_matrix


def _box(cx: float, cy: float, size: float) -> tuple[float, float, float, float]:
    return (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)


def _id_of(tracked, box) -> int | None:
    """Id of the confirmed track whose box overlaps `box` most (IoU > 0.3)."""
    best = max(tracked, key=lambda t: iou_matrix([t.box], [box])[0, 0], default=None)
    if best is None or iou_matrix([best.box], [box])[0, 0] < 0.3:
        return None
    return best.track_id


def test_iou_matrix() -> None:
    a = [_box(10, 10, 10)]
    b = [_box(10, 10, 10), _box(15, 10, 10), _box(40, 40, 5)]
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])


def test_crossing_faces_keep_their_ids() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=3))
    ids_a, ids_b = set(), set()
    for f in range(40):
        # Two 30 px faces moving toward each other at 4 px/frame; they overlap fully at f=20.
        a = _box(20 + 4 * f, 50 + 0.2 * f, 30)
        b = _box(180 - 4 * f, 54 - 0.2 * f, 30)
        tracked = tracker.step([b, a] if f % 2 else [a, b])  # detection order must not matter
        if f >= 1 and abs(f - 20) > 1:
            ids_a.add(_id_of(tracked, a))
            ids_b.add(_id_of(tracked, b))
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b
    assert None not in ids_a | ids_b
    assert tracker.tracks_started == 2


def test_gap_is_bridged_by_prediction_and_the_id_resumes() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=5))
    seen = []
    for f in range(30):
        box = _box(30 + 3 * f, 40, 24)
        tracked = tracker.step([] if 10 <= f < 14 else [box])  # 4 missed detections
        seen.append(tracked)
        if 10 <= f < 14:
            assert len(tracked) == 1 and tracked[0].detection is None
            assert tracked[0].misses == f - 9
            # The prediction follows the motion: still on the (undetected) face.
            assert iou_matrix([tracked[0].box], [box])[0, 0] > 0.6
    ids = {t.track_id for frame in seen for t in frame}
    assert ids == {0}


def test_birth_needs_consistent_hits_and_death_follows_misses() -> None:
    tracker = Tracker(TrackerConfig(min_hits=3, max_misses=2))
    face = _box(50, 50, 30)
    assert [t.track_id for t in tracker.step([])] == []  # first pass: nothing yet
    # A single-frame false positive never becomes a track.
    assert tracker.step([_box(120, 30, 20)]) == []
    assert tracker.step([face]) == []
    assert tracker.step([face]) == []
    third = tracker.step([face])
    assert len(third) == 1 and third[0].hits == 3 and third[0].detection == 0
    # Leaves: predicted for max_misses passes, then gone.
    assert len(tracker.step([])) == 1
    assert len(tracker.step([])) == 1
    assert tracker.step([]) == []
    # Comes back soon at the same place and size: the same face, the same id.
    for _ in range(3):
        back = tracker.step([face])
    assert len(back) == 1 and back[0].track_id == third[0].track_id
    assert tracker.tracks_started == 1 and tracker.reassociated == 1


@pytest.mark.parametrize(
    ("away", "back_box", "same_id"),
    [
        (2, _box(52, 49, 31), True),  # soon, same place and size: the same face
        (8, _box(50, 50, 30), False),  # away longer than reassociate_passes
        (2, _box(50, 50, 60), False),  # soon, but twice as big
        (2, _box(110, 50, 30), False),  # soon, but two face widths away
    ],
)
def test_reassociation_only_for_a_near_same_size_face_back_soon(
    away: int, back_box: tuple[float, float, float, float], same_id: bool
) -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=1, reassociate_passes=6))
    for _ in range(3):
        (first,) = tracker.step([_box(50, 50, 30)])
    for _ in range(away):
        tracker.step([])
    assert tracker.active_ids == []
    assert tracker.step([back_box]) == []  # tentative again: birth needs two hits
    (back,) = tracker.step([back_box])
    assert (back.track_id == first.track_id) is same_id
    assert tracker.tracks_started == (1 if same_id else 2)


def test_a_false_detection_on_the_first_frame_does_not_live_on() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=5))
    face, phantom = _box(50, 50, 30), _box(150, 30, 20)
    first = tracker.step([face, phantom])
    assert len(first) == 2  # both confirmed at once: nothing tells them apart yet
    second = tracker.step([face])
    assert len(second) == 1 and second[0].hits == 2
    assert iou_matrix([second[0].box], [face])[0, 0] > 0.8
    # The real face, confirmed on the first frame, is still predicted through misses.
    assert len(tracker.step([])) == 1


def test_faces_present_from_the_first_frame_are_tracked_at_once() -> None:
    tracker = Tracker(TrackerConfig(min_hits=3))
    first = tracker.step([_box(30, 30, 20), _box(90, 30, 20)])
    assert sorted(t.track_id for t in first) == [0, 1]


def test_predict_and_correct_between_detection_passes() -> None:
    tracker = Tracker(TrackerConfig(min_hits=1))
    for f in range(6):
        tracker.step([_box(20 + 5 * f, 40, 30)])
    for f in range(6, 12):  # detection only every 6th frame: predict, then correct
        (t,) = tracker.predict()
        assert t.detection is None
        truth = _box(20 + 5 * f, 40, 30)
        assert iou_matrix([t.box], [truth])[0, 0] > 0.7
        corrected = tracker.correct(t.track_id, truth)
        assert corrected is not None and corrected.track_id == t.track_id
    assert tracker.correct(99, _box(0, 0, 5)) is None
    (t,) = tracker.step([_box(20 + 5 * 12, 40, 30)])
    assert t.track_id == 0 and t.misses == 0


def test_a_moving_face_missed_for_a_while_is_rejoined_along_its_path() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=2))
    for f in range(6):
        (first,) = tracker.step([_box(30 + 6 * f, 40, 24)])
    for _ in range(5):  # occluded: coasts, is let go, stays away
        tracker.step([])
    assert tracker.active_ids == []
    back = [_box(30 + 6 * f, 40, 24) for f in (11, 12)]  # 1.5 face widths past the last sight
    tracker.step([back[0]])
    (again,) = tracker.step([back[1]])
    assert again.track_id == first.track_id and tracker.tracks_started == 1
