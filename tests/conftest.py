"""Shared test fixtures: the face model and the real clips and photos the tests read.

The face model (ICT-FaceKit Light, converted) is found as the tool finds it, so anyone who has
run `facesr-video models install` can run the tests that need it: $FACESR_FACE_MODEL, then the
installed model, then a local copy at ../shared/facemodels beside the repository. Real clips and
photos are read from $FACESR_TEST_DATA, else ../shared/data. A test that needs what is missing is
skipped with a reason that says what to set or install.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facesr_video.morph.install import ENV_FACE_MODEL, default_model_path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ENV_TEST_DATA = "FACESR_TEST_DATA"
DATA = Path(os.environ.get(ENV_TEST_DATA) or SHARED / "data")
FACEMODELS = SHARED / "facemodels"  # the original ICT-FaceKit files, for the importer tests
SHARED_ICT_NPZ = FACEMODELS / "ict-facekit" / "ict_face_light.npz"


def find_face_model() -> Path:
    """The first face model that exists of: $FACESR_FACE_MODEL, the installed one, the local
    copy under ../shared (that last path when none exists, so `require` can skip on it)."""
    candidates = [default_model_path(), SHARED_ICT_NPZ]
    if os.environ.get(ENV_FACE_MODEL):
        candidates.insert(0, Path(os.environ[ENV_FACE_MODEL]))
    return next((path for path in candidates if path.is_file()), SHARED_ICT_NPZ)


ICT_NPZ = find_face_model()

FACE_MODEL_MISSING = (
    f"no face model: set {ENV_FACE_MODEL}=PATH to an ict_face_light.npz, run "
    f"`facesr-video models install` (or `--from` a local copy), or put one at {SHARED_ICT_NPZ}"
)


def require(path: Path) -> Path:
    """Return path, or skip the test saying what is missing and how to provide it."""
    if path.exists():
        return path
    if path == ICT_NPZ:
        pytest.skip(FACE_MODEL_MISSING)
    if path.is_relative_to(DATA):
        pytest.skip(
            f"test data not found: {path} (set {ENV_TEST_DATA} to a folder holding the test "
            f"clips and photos, or put them at {SHARED / 'data'})"
        )
    pytest.skip(f"not found: {path} (a local copy of ICT-FaceKit's files belongs in {FACEMODELS})")


@pytest.fixture
def shared_data() -> Path:
    return require(DATA)


@pytest.fixture
def face_model_path() -> Path:
    """The face model, found as described above (the test is skipped without one)."""
    return require(ICT_NPZ)


@pytest.fixture
def ict_model_path(face_model_path: Path) -> Path:
    """The same as `face_model_path` (its older name)."""
    return face_model_path


def pytest_collection_modifyitems(config, items):
    """Skip tests marked gpu when CUDA is absent, saying so."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
