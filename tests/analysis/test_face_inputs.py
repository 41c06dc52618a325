"""FaceInputs: the priors each face gets, and evaluate's two controls (mean face, zeros)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.analysis.face_inputs import FaceInputs, generic_fit
from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser
from facesr_video.morph.formats import load_face_model
from facesr_video.timing import StageTimes
from tests.conftest import DATA, ICT_NPZ, require


@pytest.fixture(scope="module")
def model():
    return load_face_model(require(ICT_NPZ))


@pytest.fixture(scope="module")
def face(model):
    path = require(DATA / "faces" / "congress" / "A000014.jpg")
    portrait = np.asarray(Image.open(path).convert("RGB"))
    analyser = SequenceAnalyser(model, AnalysisConfig(smoothing=False))
    return analyser.push(0, portrait, payload=None)[0].faces[0]


def _inputs(model, source: str) -> FaceInputs:
    channels = list(range(13))
    times = StageTimes(("render", "motion"))
    return FaceInputs(model, 4, channels, True, "mesh", torch.device("cpu"), times, source)


def test_fitted_priors_describe_this_face(model, face):
    fitted = _inputs(model, "fitted").render([face])[0]
    n = face.alignment.crop_size  # at the crop's own size: the network upscales them
    assert fitted.maps.shape == (1, 13, n, n) and fitted.coeffs.shape[0] == 1
    assert fitted.maps.abs().sum() > 0 and fitted.coeffs.abs().sum() > 0


def test_generic_priors_keep_the_pose_and_drop_the_identity(model, face):
    fitted = _inputs(model, "fitted").render([face])[0]
    generic = _inputs(model, "generic").render([face])[0]
    # Same pose: the two faces cover nearly the same pixels.
    a, b = fitted.coverage[0, 0] > 0.5, generic.coverage[0, 0] > 0.5
    assert (a & b).sum() / (a | b).sum() > 0.85
    # Not the same face: the shape (normals, depth) differs somewhere.
    assert not torch.allclose(fitted.maps, generic.maps)
    mean = generic_fit(face.fit)
    assert not mean.identity.any() and not mean.expression.any()
    np.testing.assert_array_equal(mean.rotation, face.fit.rotation)


def test_zero_priors_are_zeros_but_the_coverage_stays(model, face):
    fitted = _inputs(model, "fitted").render([face])[0]
    zero = _inputs(model, "zero").render([face])[0]
    assert not zero.maps.any() and not zero.coeffs.any()
    torch.testing.assert_close(zero.coverage, fitted.coverage)


def test_an_unknown_source_is_refused(model):
    with pytest.raises(ValueError, match="priors source"):
        _inputs(model, "someone-else")
