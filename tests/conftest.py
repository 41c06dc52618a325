"""Shared test fixtures: paths to the real data in ../shared (skipped with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
FACEMODELS = SHARED / "facemodels"
ICT_NPZ = FACEMODELS / "ict-facekit" / "ict_face_light.npz"


def require(path: Path) -> Path:
    """Return path, or skip the test saying which shared file is missing."""
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (tests read ../shared beside the repository)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return require(DATA)


@pytest.fixture
def ict_model_path() -> Path:
    return require(ICT_NPZ)


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
