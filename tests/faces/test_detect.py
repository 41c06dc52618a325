"""Detection on real low-resolution frames, and the model files it needs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from facesr_video.errors import InputError, ModelError
from facesr_video.faces import model_files
from facesr_video.faces.detect import DLIB_MIN_FACE, FaceDetector
from tests.faces._frames import wh_frames


def test_model_files_are_found_without_importing_the_package() -> None:
    folder = model_files.models_dir()
    assert (folder / model_files.LANDMARKS68_FILE).is_file()
    assert model_files.shape_predictor68() is model_files.shape_predictor68()  # cached


def test_missing_model_package_is_a_clear_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="face-recognition-models"):
        model_files.models_dir()


@pytest.mark.parametrize("factor", [1, 4, 8])
def test_finds_the_one_face_of_a_downscaled_talking_head(factor: int) -> None:
    (hr,) = wh_frames(1)
    (lr,) = wh_frames(1, factor)
    reference = FaceDetector(min_face=80)(hr)
    assert len(reference) == 1
    found = FaceDetector(min_face=20)(lr)
    assert len(found) == 1
    # The box agrees with the high-resolution one (mapped to LR pixels) up to dlib's pyramid
    # step (box sizes come in steps of ~20%).
    ref_lr = np.array(reference[0].box) / factor + (1 / factor - 1) / 2
    assert np.abs(np.array(found[0].box) - ref_lr).max() < 0.15 * reference[0].width / factor


def test_small_faces_need_upsampling() -> None:
    (lr,) = wh_frames(1, 8)  # face box ~39 px: below dlib's 80 px window
    assert FaceDetector(min_face=DLIB_MIN_FACE)(lr) == []
    detector = FaceDetector(min_face=20)
    assert detector.upsample_for(*lr.shape[:2]) == pytest.approx(4.0)
    assert detector.smallest_face(*lr.shape[:2]) == pytest.approx(20.0)
    assert len(detector(lr)) == 1


def test_upsampling_stays_within_the_pixel_budget() -> None:
    detector = FaceDetector(min_face=10, max_pixels=800_000)
    scale = detector.upsample_for(720, 1280)
    assert scale == 1.0
    assert detector.smallest_face(720, 1280) == DLIB_MIN_FACE
    assert detector.upsample_for(90, 160) ** 2 * 90 * 160 <= 800_001


def test_no_face_gives_no_detection() -> None:
    rng = np.random.default_rng(0)
    assert FaceDetector()(np.zeros((90, 160, 3), np.uint8)) == []
    assert FaceDetector()(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)) == []


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError):
        FaceDetector(kind="yolo")
    with pytest.raises(InputError):
        FaceDetector()(np.zeros((10, 10), np.uint8))


def test_a_window_at_the_face_scale_finds_the_same_box_as_the_full_scan() -> None:
    (lr,) = wh_frames(1, 4)
    detector = FaceDetector(min_face=16)
    (full,) = detector(lr)
    x0, y0, x1, y1 = full.box
    size = x1 - x0
    window = (int(x0 - size / 2), int(y0 - size / 2), int(x1 + size / 2), int(y1 + size / 2))
    scale = 110 / size
    (found,) = detector.detect(lr, scale, window)
    assert abs(found.width - size) < 0.25 * size  # dlib's pyramid steps differ by scale
    shift = np.array(found.box) - np.array(full.box)
    assert np.abs(shift[:2] + shift[2:]).max() / 2 < 0.1 * size  # centres agree
    # Outside the face, or shrunk so that the face is below dlib's window: nothing.
    assert detector.detect(lr, scale, (0, 0, 40, 40)) == []
    assert detector.detect(lr, 0.5, window) == []
