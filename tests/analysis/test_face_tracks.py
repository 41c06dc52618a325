"""The streaming analyzer on real frames and on the bad inputs a user will feed it."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.analysis.face_tracks import AnalyzerConfig, FaceAnalyzer
from facesr_video.errors import InputError
from facesr_video.faces.align import CROP_SIZES
from facesr_video.faces.track import TrackerConfig
from tests.faces._frames import wh_frames


def test_one_track_with_aligned_native_size_crops() -> None:
    frames = wh_frames(12, factor=8)
    analyzer = FaceAnalyzer()
    per_frame = [analyzer.analyze(i, rgb) for i, rgb in enumerate(frames)]
    assert all(len(obs) == 1 for obs in per_frame)
    assert {obs[0].track_id for obs in per_frame} == {0}
    first = per_frame[0][0]
    assert first.frame_index == 0 and first.detected and first.score > 0
    assert first.landmarks68.shape == (68, 2) and first.landmarks68.dtype == np.float32
    assert first.alignment.crop_size in CROP_SIZES
    assert 0.8 < first.alignment.scale < 1.25  # native size: no needless resampling
    assert len({obs[0].alignment.crop_size for obs in per_frame}) == 1  # stable per track
    stats = analyzer.stats
    assert (stats.frames, stats.frames_with_faces, stats.detections, stats.tracks) == (
        12,
        12,
        12,
        1,
    )


def test_no_face_at_all() -> None:
    analyzer = FaceAnalyzer()
    blank = np.full((90, 160, 3), 128, np.uint8)
    assert all(analyzer.analyze(i, blank) == [] for i in range(3))
    stats = analyzer.stats
    assert (stats.frames, stats.detections, stats.observations, stats.tracks) == (3, 0, 0, 0)


def test_faces_below_min_face_are_skipped_and_counted() -> None:
    (lr,) = wh_frames(1, factor=10)  # face box ~32 px
    analyzer = FaceAnalyzer(AnalyzerConfig(min_face=36))
    assert analyzer.analyze(0, lr) == []
    assert analyzer.stats.skipped_small == 1 and analyzer.stats.detections == 0
    assert len(FaceAnalyzer(AnalyzerConfig(min_face=24)).analyze(0, lr)) == 1


def test_face_entering_and_leaving() -> None:
    frames = wh_frames(6, factor=8)
    blank = np.full_like(frames[0], 100)
    stream = [blank, blank, *frames, *[blank] * 6]
    config = AnalyzerConfig(scan_every=1, tracker=TrackerConfig(min_hits=2, max_misses=3))
    analyzer = FaceAnalyzer(config)
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate(stream)]
    assert seen[0] == [] and seen[1] == [] and seen[2] == []  # birth needs two hits
    assert all(len(obs) == 1 and obs[0].detected for obs in seen[3:8])
    # Gone: predicted (not detected) for max_misses frames, then let go.
    gone = seen[8:]
    assert [len(obs) for obs in gone] == [1, 1, 1, 0, 0, 0]
    assert all(not obs[0].detected and obs[0].quality < 1 for obs in gone[:3])
    assert analyzer.stats.tracks == 1 and analyzer.stats.frames == len(stream)


def test_detect_every_tracks_in_between() -> None:
    frames = wh_frames(9, factor=8)
    analyzer = FaceAnalyzer(AnalyzerConfig(detect_every=4))
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate(frames)]
    assert all(len(obs) == 1 and obs[0].track_id == 0 for obs in seen)
    assert [obs[0].detected for obs in seen] == [i % 4 == 0 for i in range(9)]
    assert analyzer.stats.detections == 3
    # Landmarks found from the prediction stay on the face: close to a fresh analysis.
    fresh = FaceAnalyzer()
    reference = [fresh.analyze(i, rgb) for i, rgb in enumerate(frames)]
    for obs, ref in zip(seen, reference, strict=True):
        err = np.linalg.norm(obs[0].landmarks68 - ref[0].landmarks68, axis=1).mean()
        assert err < 1.5  # LR px, on a face ~40 px wide


def test_largest_keeps_one_face() -> None:
    (lr,) = wh_frames(1, factor=4)
    twice = np.concatenate([lr, np.pad(lr[::2, ::2], ((0, 90), (0, 160), (0, 0)))], axis=1)
    assert len(FaceAnalyzer().analyze(0, twice)) == 2
    (only,) = FaceAnalyzer(AnalyzerConfig(faces="largest")).analyze(0, twice)
    assert only.box[2] < lr.shape[1]  # the full-size face on the left


def test_bad_options_and_frames() -> None:
    with pytest.raises(InputError):
        AnalyzerConfig(detect_every=0)
    with pytest.raises(InputError):
        AnalyzerConfig(faces="some")
    with pytest.raises(InputError):
        FaceAnalyzer().analyze(0, np.zeros((90, 160, 3), np.float32))


def _on_canvas(face: np.ndarray, shape: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    """A grey (H, W, 3) frame with `face` pasted with its top-left corner at `at` (x, y)."""
    canvas = np.full((*shape, 3), 110, np.uint8)
    x, y = at
    canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
    return canvas


def test_tracked_face_needs_no_full_scans_in_between() -> None:
    frames = wh_frames(13, factor=4)  # 320x180, face ~80 px
    analyzer = FaceAnalyzer(AnalyzerConfig(detect_every=1, scan_every=6))
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate(frames)]
    assert all(len(obs) == 1 and obs[0].detected and obs[0].track_id == 0 for obs in seen)
    stats = analyzer.stats
    assert stats.detections == 13 and stats.full_scans == 3  # frames 0, 6 and 12
    # The windowed passes find the same face as full scans would: landmarks agree closely.
    every = FaceAnalyzer(AnalyzerConfig(detect_every=1, scan_every=1))
    for i, (obs, rgb) in enumerate(zip(seen, frames, strict=True)):
        (ref,) = every.analyze(i, rgb)
        assert np.linalg.norm(obs[0].landmarks68 - ref.landmarks68, axis=1).mean() < 1.5
    assert every.stats.full_scans == 13
    # By default the period follows the scan's cost: rarer on bigger frames, capped.
    auto = FaceAnalyzer()
    assert auto.scan_period(90, 160) < auto.scan_period(180, 320) <= auto.config.max_scan_every
    assert auto.scan_period(480, 640) == auto.config.max_scan_every


def test_a_small_new_face_is_found_by_the_next_full_scan() -> None:
    faces = wh_frames(10, factor=8)  # face ~40 px
    blank = np.full((180, 320, 3), 110, np.uint8)
    stream = [blank] * 2 + [_on_canvas(f, (180, 320), (120, 60)) for f in faces]
    analyzer = FaceAnalyzer(AnalyzerConfig(scan_every=5, wide_pixels=0))
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate(stream)]
    # Scans at 0, 5, 10: found at 5 (tentative), confirmed by its window search at 6.
    assert [len(obs) for obs in seen] == [0] * 6 + [1] * 6
    assert analyzer.stats.full_scans == 3 and analyzer.stats.tracks == 1


def test_a_shot_cut_scans_the_next_frame_for_small_faces() -> None:
    faces = wh_frames(4, factor=8)  # face ~40 px: only a full scan finds a new one
    blank = np.full((180, 320, 3), 110, np.uint8)
    shot = [_on_canvas(f, (180, 320), (120, 60)) for f in faces]
    analyzer = FaceAnalyzer(AnalyzerConfig(scan_every=100, wide_pixels=0))
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate([blank, blank])]
    analyzer.cut()
    seen += [analyzer.analyze(i, rgb) for i, rgb in enumerate(shot, start=2)]
    # Scanned at 0 and at the cut (2): tentative there, confirmed by its window search at 3.
    assert [len(obs) for obs in seen] == [0, 0, 0, 1, 1, 1]
    assert analyzer.stats.full_scans == 2


def test_a_big_new_face_is_found_at_once_by_the_wide_pass() -> None:
    faces = wh_frames(4, factor=4)  # face ~80 px, on a canvas the wide pass sees at 1x
    blank = np.full((180, 320, 3), 110, np.uint8)
    analyzer = FaceAnalyzer(AnalyzerConfig(scan_every=100, min_face=40))
    seen = [analyzer.analyze(i, rgb) for i, rgb in enumerate([blank, *faces])]
    assert [len(obs) for obs in seen] == [0, 0, 1, 1, 1]  # birth after two hits
    assert analyzer.stats.full_scans == 1
