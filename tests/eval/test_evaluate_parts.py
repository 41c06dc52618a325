"""The pieces of evaluate alone: face regions, reference faces, per-method scoring, samples, checks.

Real dlib on a real portrait (congress); no pipeline and no network, so these are fast.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facesr_video.dataset.degrade.bicubic import downscale, upscale_bicubic
from facesr_video.dataset.inputs import read_image
from facesr_video.errors import InputError, OutputError
from facesr_video.eval.clips import list_clips, original_frames
from facesr_video.eval.evaluate import EvaluateOptions, check_options
from facesr_video.eval.identity import IdentityEncoder
from facesr_video.eval.reference import (
    ReferenceAnalyser,
    ReferenceFace,
    ReferenceFrame,
    box_iou,
    face_region,
)
from facesr_video.eval.samples import SampleKeeper, sample_targets
from facesr_video.eval.scoring import MethodScorer
from tests.conftest import DATA, require

PORTRAIT = DATA / "faces" / "congress" / "A000014.jpg"
GRID_CLIP = DATA / "videos" / "grid" / "bbaf2n.mpg"


@pytest.fixture(scope="module")
def encoder() -> IdentityEncoder:
    return IdentityEncoder()


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """A congress portrait on a wider canvas (room to move it), cropped to a multiple of 4."""
    image = read_image(require(PORTRAIT))
    canvas = np.full((288, 400, 3), 90, np.uint8)
    canvas[8 : 8 + image.shape[0], 40 : 40 + image.shape[1]] = image
    return canvas


def test_face_region_grows_box_and_stays_inside_the_frame() -> None:
    # Box edges at pixel edges -0.5 + k: pixels 10..29 (20 wide), grown 10 % = 2 px per side.
    assert face_region((9.5, 9.5, 29.5, 29.5), (100, 100)) == (8, 8, 32, 32)
    assert face_region((9.5, 9.5, 29.5, 29.5), (100, 100), margin=0.0) == (10, 10, 30, 30)
    assert face_region((-5.0, -5.0, 20.0, 90.0), (50, 60)) == (0, 0, 23, 50)


def test_box_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)


def _shifted(image: np.ndarray, dx: int) -> np.ndarray:
    return np.roll(image, dx, axis=1)


def test_reference_faces_are_found_and_tracked(portrait, encoder) -> None:
    analyser = ReferenceAnalyser(encoder, min_face=80)
    first = analyser(0, portrait)
    second = analyser(1, _shifted(portrait, 8))
    assert len(first.faces) == 1 and len(second.faces) == 1
    face = first.faces[0]
    left, top, right, bottom = face.region
    assert right - left > 90 and bottom - top > 90
    assert left <= face.landmarks[:, 0].min() and face.landmarks[:, 0].max() < right
    assert face.descriptor.shape == (128,)
    assert second.faces[0].track == face.track  # same face, moved 8 px: one track
    moved = second.faces[0].landmarks[:, 0].mean() - face.landmarks[:, 0].mean()
    assert moved == pytest.approx(8, abs=4)  # dlib landmarks follow its (coarse) boxes


def _moved(reference: ReferenceFrame, index: int, dx: int) -> ReferenceFrame:
    """The reference of the frame shifted right by dx pixels (exact, unlike a new detection)."""
    faces = []
    for face in reference.faces:
        x0, y0, x1, y1 = face.box
        left, top, right, bottom = face.region
        faces.append(
            replace(
                face,
                box=(x0 + dx, y0, x1 + dx, y1),
                region=(left + dx, top, right + dx, bottom),
                landmarks=face.landmarks + np.float32([dx, 0]),
            )
        )
    return ReferenceFrame(index, tuple(faces))


def test_blank_frame_has_no_reference_face(encoder) -> None:
    analyser = ReferenceAnalyser(encoder, min_face=80)
    assert analyser(0, np.full((240, 320, 3), 128, np.uint8)).faces == ()


def test_scorer_identical_output_is_perfect_and_bicubic_is_not(portrait, encoder) -> None:
    first = ReferenceAnalyser(encoder, min_face=80)(0, portrait)
    frames = [_shifted(portrait, 3 * t) for t in range(4)]  # constant velocity
    references = [_moved(first, t, 3 * t) for t in range(4)]
    perfect, bicubic = MethodScorer("perfect", encoder), MethodScorer("bicubic", encoder)
    for frame, reference in zip(frames, references, strict=True):
        perfect.add(frame.copy(), frame, reference)
        bicubic.add(upscale_bicubic(downscale(frame, 4), 4), frame, reference)
    ideal = perfect.result(seconds=2.0, frames=4)
    assert math.isinf(ideal.psnr) and ideal.ssim == pytest.approx(1.0)
    assert ideal.identity == pytest.approx(1.0, abs=1e-5)
    assert ideal.landmark_error == pytest.approx(0.0, abs=1e-6)
    assert ideal.flicker == 0.0
    assert ideal.jitter == pytest.approx(0.0, abs=1e-4)  # shifted faces: landmarks shift exactly
    assert ideal.fps == 2.0
    assert len(ideal.psnr_per_frame) == 4 and len(ideal.flicker_per_frame) == 3
    plain = bicubic.result(seconds=1.0, frames=4)
    assert 22.0 < plain.psnr < 40.0 and 0.5 < plain.ssim < 0.99
    assert 0.8 < plain.identity < 1.0 and 0.0 < plain.landmark_error < 0.2
    assert plain.flicker > 0.0
    assert all(math.isfinite(v) for v in plain.psnr_per_frame)


def test_scorer_frames_without_face_are_nan(encoder) -> None:
    scorer = MethodScorer("bicubic", encoder)
    blank = np.full((64, 64, 3), 50, np.uint8)
    for index in range(3):
        scorer.add(blank, blank, ReferenceFrame(index, ()))
    scores = scorer.result(seconds=1.0, frames=3)
    assert all(math.isnan(v) for v in (scores.psnr, scores.ssim, scores.identity, scores.flicker))
    assert math.isnan(scores.jitter) and len(scores.psnr_per_frame) == 3


def test_scorer_jitter_splits_tracks_at_gaps(encoder) -> None:
    scorer = MethodScorer("x", encoder)
    still = np.zeros((68, 2), np.float32)
    moved = still + 3.0
    # Track 0: frames 0-2 still, a gap, frames 4-6 with a jump between 4 and 5.
    entries = [(0, still), (1, still), (2, still), (4, still), (5, moved), (6, moved)]
    for index, points in entries:
        scorer._jitter.add(0, index, points)
    # Run 1: no acceleration. Run 2: one acceleration of norm |(3,3)| = 4.24 over 3 frames.
    assert scorer.jitter() == pytest.approx((0.0 * 3 + 3 * 2**0.5 * 3) / 6)


def test_jitter_runs_match_the_metric_on_whole_tracks() -> None:
    """The running sums give what landmark_jitter gives on the stored tracks, gaps and all."""
    import torch

    from facesr_video.eval.metrics import landmark_jitter
    from facesr_video.eval.scoring import JitterRuns

    rng = np.random.default_rng(0)
    runs = JitterRuns()
    expected_total, expected_weight = 0.0, 0
    start = 0
    for track, length in [(0, 5), (1, 2), (0, 7), (2, 3)]:
        points = rng.normal(size=(length, 68, 2)).astype(np.float32)
        for t in range(length):
            runs.add(track, start + t, points[t])
        if length >= 3:
            expected_total += landmark_jitter(torch.from_numpy(points)) * length
            expected_weight += length
        start += length + 1  # a gap before the next run
    assert runs.value() == pytest.approx(expected_total / expected_weight)


def test_sample_targets() -> None:
    assert sample_targets(8, 3) == (1, 4, 6)
    assert sample_targets(1, 3) == (0,)
    assert sample_targets(None, 2) == (0, 30)
    assert sample_targets(10, 0) == ()


def _reference(index: int, face: bool) -> ReferenceFrame:
    if not face:
        return ReferenceFrame(index, ())
    points = np.zeros((68, 2), np.float32)
    return ReferenceFrame(
        index, (ReferenceFace((10, 10, 40, 40), (8, 8, 42, 42), points, np.ones(128), 0),)
    )


def test_sample_keeper_picks_first_face_at_or_after_each_target() -> None:
    keeper = SampleKeeper((2, 5), scale=4)
    image = np.zeros((16, 16, 3), np.uint8)
    faces = [False, False, False, True, True, False, True, True]  # targets 2 -> 3, 5 -> 6
    for index, face in enumerate(faces):
        keeper.offer("bicubic", index, image, image + 1, _reference(index, face))
    keeper.end_first_pass()
    for index in range(len(faces)):
        keeper.offer("ours", index, image, image + 2, _reference(index, faces[index]))
    samples = keeper.samples(("bicubic", "ours"))
    assert [s.index for s in samples] == [3, 6]
    assert [m for m, _ in samples[0].outputs] == ["bicubic", "ours"]
    assert samples[0].lr.shape == (4, 4, 3) and samples[0].face_box == (10, 10, 40, 40)


def test_sample_keeper_falls_back_to_frame_zero_without_faces() -> None:
    keeper = SampleKeeper((1,), scale=4)
    image = np.zeros((16, 16, 3), np.uint8)
    for index in range(3):
        keeper.offer("bicubic", index, image, image, _reference(index, False))
    keeper.end_first_pass()
    samples = keeper.samples(("bicubic",))
    assert [s.index for s in samples] == [0] and samples[0].face_box is None


def test_original_frames_are_cropped_and_capped() -> None:
    clips = list_clips([require(GRID_CLIP)], max_frames=3)
    assert len(clips) == 1 and clips[0].kind == "video" and clips[0].expected_frames == 3
    frames = list(original_frames(clips[0], 8, max_frames=3))
    assert len(frames) == 3 and frames[0].rgb.shape == (288, 360, 3)  # 360 = 45 x 8
    frames = list(original_frames(clips[0], 7, max_frames=1))
    assert frames[0].rgb.shape == (287, 357, 3)


def test_image_folder_gives_one_frame_clips(tmp_path: Path) -> None:
    folder = tmp_path / "faces"
    folder.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((30, 41, 3), np.uint8)).save(folder / "a.png")
    (folder / "notes.txt").write_text("not an image")
    clips = list_clips([folder])
    assert [(c.name, c.kind, c.expected_frames) for c in clips] == [("faces/a.png", "image", 1)]
    (frame,) = original_frames(clips[0], 4)
    assert frame.rgb.shape == (28, 40, 3) and frame.index == 0


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        list_clips([tmp_path / "missing.mp4"])
    text = tmp_path / "clip.mp4"
    text.write_text("this is not a video")
    with pytest.raises(InputError, match="not a video"):
        list_clips([text])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no videos or images"):
        list_clips([empty])


def test_check_options(tmp_path: Path) -> None:
    out = tmp_path / "report"
    clips = tmp_path / "clips"
    clips.mkdir()
    check_options(EvaluateOptions((clips,), out, 4))  # absent: fine
    out.mkdir()
    check_options(EvaluateOptions((clips,), out, 4))  # empty: fine
    (out / "report.md").write_text("old")
    with pytest.raises(OutputError, match="not empty"):
        check_options(EvaluateOptions((clips,), out, 4))
    check_options(EvaluateOptions((clips,), out, 4, overwrite=True))
    with pytest.raises(OutputError, match="is a file"):
        check_options(EvaluateOptions((clips,), out / "report.md", 4))
    check_options(EvaluateOptions((clips,), tmp_path / "r2", 2))  # x2: the x4 network
    with pytest.raises(InputError, match="x2, x4 and x8"):
        check_options(EvaluateOptions((clips,), tmp_path / "r2", 3))
    with pytest.raises(InputError, match="max-frames"):
        check_options(EvaluateOptions((clips,), tmp_path / "r2", 4, max_frames=0))
    with pytest.raises(OutputError, match="inside the input folder"):
        check_options(EvaluateOptions((clips,), clips / "report", 4))


def test_command_line_reproduces_the_options() -> None:
    options = EvaluateOptions(
        (Path("a b.mp4"),), Path("out"), 8, max_frames=5, no_smoothing_too=True, min_face=12
    )
    assert options.command_line() == (
        "facesr-video evaluate 'a b.mp4' --scale 8 --out out --max-frames 5 "
        "--no-smoothing-too --min-face 12"
    )
