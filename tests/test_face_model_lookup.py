"""The tests find the face model as the tool does: $FACESR_FACE_MODEL, the installed model, then
a local copy under ../shared (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.morph.install import ENV_CACHE_DIR, ENV_FACE_MODEL, default_model_path
from tests import conftest


def test_env_then_installed_then_local_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_FACE_MODEL, raising=False)
    assert conftest.find_face_model() == conftest.SHARED_ICT_NPZ  # nothing else there
    installed = default_model_path()
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"npz")
    assert conftest.find_face_model() == installed
    chosen = tmp_path / "mine.npz"
    chosen.write_bytes(b"npz")
    monkeypatch.setenv(ENV_FACE_MODEL, str(chosen))
    assert conftest.find_face_model() == chosen
    monkeypatch.setenv(ENV_FACE_MODEL, str(tmp_path / "missing.npz"))
    assert conftest.find_face_model() == installed


def test_missing_face_model_skip_says_what_to_do() -> None:
    for words in (ENV_FACE_MODEL, "facesr-video models install", str(conftest.SHARED_ICT_NPZ)):
        assert words in conftest.FACE_MODEL_MISSING
