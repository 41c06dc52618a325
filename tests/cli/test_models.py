"""`facesr-video models list | check | install --from` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.morph.install import ENV_CACHE_DIR, ENV_FACE_MODEL, default_model_path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_FACE_MODEL, raising=False)
    return tmp_path / "cache"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--quiet", "models", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_nothing_installed(cache, capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0 and "face model: not installed" in out
    code, _, err = _run(capsys, "check")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no face model installed")
    assert "models install --from DIR_OR_FILE" in lines[0]


def test_install_from_npz_then_list_and_check(cache, capsys, ict_model_path):
    code, out, _ = _run(capsys, "install", "--from", str(ict_model_path))
    assert code == 0 and str(default_model_path()) in out
    code, out, _ = _run(capsys, "list")
    assert code == 0 and f"face model: {default_model_path()} [installed]" in out
    code, out, _ = _run(capsys, "check")
    assert code == 0 and "9409 vertices, 100 identity, 53 expression" in out


def test_env_and_option_override(cache, capsys, ict_model_path, monkeypatch, tmp_path):
    code, out, _ = _run(capsys, "list", "--face-model", str(ict_model_path))
    assert f"{ict_model_path} [--face-model]" in out
    monkeypatch.setenv(ENV_FACE_MODEL, str(ict_model_path))
    code, out, _ = _run(capsys, "check")
    assert code == 0 and str(ict_model_path) in out
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    code, _, err = _run(capsys, "check", "--face-model", str(broken))
    assert code == 2 and "not a readable .npz" in err


def test_install_from_missing_path(cache, capsys, tmp_path):
    code, _, err = _run(capsys, "install", "--from", str(tmp_path / "nowhere"))
    assert code == 2 and "not found" in err


def test_list_says_what_each_weights_file_is_for(capsys, ict_model_path, monkeypatch):
    from facesr_video.enhance.prepare import shipped_role

    assert shipped_role(Path("sam-light-x4.safetensors")) == "x4 default"
    assert shipped_role(Path("x/sam-light-x8-compressed.safetensors")) == "x8, compressed input"
    assert shipped_role(Path("mine.safetensors")) is None
    monkeypatch.setenv(ENV_FACE_MODEL, str(ict_model_path))
    code, out, _ = _run(capsys, "list")
    lines = [line for line in out.splitlines() if line.startswith("network weights:")]
    assert code == 0 and lines
    for line in lines:
        name = Path(line.split()[2]).name
        assert f"; {shipped_role(Path(name))}: " in line and " output, priors " in line
