"""Landmark fitting on the real model: synthetic recovery, bounds, track identity, divergence."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.morph.camera import Camera, Pose, camera_vertices, euler_degrees, project
from facesr_video.morph.fit import LandmarkFitter, TrackIdentity, inter_ocular
from facesr_video.morph.formats import load_face_model
from tests.conftest import ICT_NPZ, require

SIZE = (640, 480)


@pytest.fixture(scope="module")
def model():
    return load_face_model(require(ICT_NPZ))


@pytest.fixture(scope="module")
def fitter(model):
    return LandmarkFitter(model)


def render_landmarks(model, identity, expression, rotation, translation, noise, rng):
    """(68, 2) landmarks of the model's own landmark vertices plus pixel noise."""
    verts = model.vertices(identity, expression)[model.landmarks68].astype(np.float64)
    xy = project(camera_vertices(verts, Pose(rotation, translation)), Camera.for_image(*SIZE))
    return xy + rng.normal(0, noise, xy.shape)


def random_face(model, rng):
    identity = rng.normal(0, 0.6, model.num_identity)
    expression = np.zeros(model.num_expression)
    names = model.expression_names
    for name in ("jawOpen", "mouthSmile_L", "mouthSmile_R", "browInnerUp_L", "eyeBlink_R"):
        expression[names.index(name)] = rng.uniform(0.1, 0.7)
    rotation = np.radians(rng.uniform(-20, 20, 3))
    translation = np.array([rng.uniform(-4, 4), rng.uniform(-3, 3), rng.uniform(45, 70)])
    return identity, expression, rotation, translation


def test_recovers_pose_from_noisy_landmarks(model, fitter):
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(6):
        identity, expression, rotation, translation = random_face(model, rng)
        lms = render_landmarks(model, identity, expression, rotation, translation, 0.5, rng)
        fit = fitter.fit(lms, SIZE)
        assert fit.reliable, fit.reason
        assert fit.residual < 0.05
        errors.append(np.abs(euler_degrees(fit.rotation) - euler_degrees(rotation)))
    errors = np.array(errors)
    assert errors.mean() < 3.0, errors
    assert errors.max() < 8.0, errors


def test_expression_bounds_and_frozen_gaze(model, fitter):
    rng = np.random.default_rng(4)
    identity, expression, rotation, translation = random_face(model, rng)
    lms = render_landmarks(model, identity, expression, rotation, translation, 0.5, rng)
    # exaggerate the mouth opening beyond what weight 1 can explain
    lms[48:68, 1] += np.linspace(0, 25, 20)
    fit = fitter.fit(lms, SIZE)
    assert fit.expression.min() >= 0.0 and fit.expression.max() <= 1.0
    assert np.all(fit.expression[model.gaze_expressions] == 0.0)
    jaw = model.expression_names.index("jawOpen")
    assert fit.expression[jaw] > 0.3


def test_warm_start_converges_to_the_same_fit(model, fitter):
    rng = np.random.default_rng(5)
    identity, expression, rotation, translation = random_face(model, rng)
    lms = render_landmarks(model, identity, expression, rotation, translation, 0.3, rng)
    cold = fitter.fit(lms, SIZE)
    moved = lms + np.array([3.0, -2.0])
    warm = fitter.fit(moved, SIZE, previous=cold)
    assert warm.iterations <= fitter.warm_iterations
    assert warm.reliable
    assert np.degrees(np.abs(warm.rotation - cold.rotation)).max() < 2.0
    assert warm.residual < 0.05


def test_track_identity_converges_and_freezes(model):
    rng = np.random.default_rng(6)
    fitter = LandmarkFitter(model)
    identity, _, _, translation = random_face(model, rng)
    track = TrackIdentity(model.num_identity, freeze_after=25)
    previous = None
    start_std = track.std().mean()
    for _ in range(25):
        rotation = np.radians(rng.uniform(-25, 25, 3))
        expression = np.zeros(model.num_expression)
        lms = render_landmarks(model, identity, expression, rotation, translation, 0.5, rng)
        previous = fitter.fit(lms, SIZE, previous=previous, identity_prior=track)
        track.update(previous)
    assert track.frozen
    assert track.std().mean() < start_std
    # with the identity frozen the fit uses the track's mean and reports no information
    lms = render_landmarks(model, identity, np.zeros(53), np.zeros(3), translation, 0.5, rng)
    fit = fitter.fit(lms, SIZE, previous=previous, identity_prior=track)
    np.testing.assert_allclose(fit.identity, track.mean, atol=1e-6)
    assert fit.identity_information is None


def test_scrambled_landmarks_are_unreliable(model, fitter):
    rng = np.random.default_rng(7)
    identity, expression, rotation, translation = random_face(model, rng)
    lms = render_landmarks(model, identity, expression, rotation, translation, 0.5, rng)
    good = fitter.fit(lms, SIZE)
    scrambled = lms[rng.permutation(68)]
    bad = fitter.fit(scrambled, SIZE)
    assert not bad.reliable and bad.reason
    # warm-started from a good fit, the bad frame keeps the good mesh but says it is unreliable
    held = fitter.fit(scrambled, SIZE, previous=good)
    assert not held.reliable
    np.testing.assert_allclose(held.rotation, good.rotation)
    nan = fitter.fit(np.full((68, 2), np.nan), SIZE)
    assert not nan.reliable


def test_inter_ocular_distance():
    lms = np.zeros((68, 2))
    lms[36:42] = [10.0, 5.0]
    lms[42:48] = [40.0, 5.0]
    assert inter_ocular(lms) == pytest.approx(30.0)
