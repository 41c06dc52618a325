"""68-point landmarks on small faces: plausible layout, close to the high-resolution ones."""

from __future__ import annotations

import numpy as np

from facesr_video.faces.detect import FaceDetector
from facesr_video.faces.landmarks import (
    five_points,
    inter_ocular,
    landmark_box,
    predict_landmarks,
    predictor_box,
)
from tests.faces._frames import wh_frames


def test_five_points_from_68() -> None:
    lm = np.random.default_rng(0).uniform(0, 100, (68, 2)).astype(np.float32)
    five = five_points(lm)
    assert five.shape == (5, 2) and five.dtype == np.float32
    np.testing.assert_allclose(five[0], lm[36:42].mean(0), rtol=1e-6)
    np.testing.assert_allclose(five[2], lm[30])
    assert five_points(np.stack([lm, lm])).shape == (2, 5, 2)


def test_landmarks_at_low_resolution_match_the_high_resolution_ones() -> None:
    (hr,) = wh_frames(1)
    hr_lm = predict_landmarks(hr, FaceDetector(min_face=80)(hr)[0].box, work_size=0)
    iod = inter_ocular(hr_lm)
    errors = {}
    for factor in (4, 8):
        (lr,) = wh_frames(1, factor)
        box = FaceDetector(min_face=20)(lr)[0].box
        lm = predict_landmarks(lr, box)
        assert lm.shape == (68, 2) and lm.dtype == np.float32
        # Layout sanity: eyes above the nose tip above the mouth, subject's right eye on the left.
        assert lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean()
        assert lm[36:42, 0].mean() < lm[42:48, 0].mean()
        in_hr = (lm + 0.5) * factor - 0.5
        errors[factor] = np.linalg.norm(in_hr - hr_lm, axis=1).mean() / iod
        # Without enlarging first, dlib's integer landmarks are coarser.
        plain = (predict_landmarks(lr, box, work_size=0) + 0.5) * factor - 0.5
        errors[-factor] = np.linalg.norm(plain - hr_lm, axis=1).mean() / iod
    assert errors[4] < 0.04 and errors[8] < 0.05
    assert errors[8] < errors[-8]


def test_predictor_box_reproduces_the_detector_box() -> None:
    (lr,) = wh_frames(1, 4)
    det = FaceDetector(min_face=20)(lr)[0]
    again = predictor_box(landmark_box(predict_landmarks(lr, det.box)))
    assert np.abs(np.array(again) - np.array(det.box)).max() < 0.06 * det.width
