"""`models check` reads every weights file as enhance does: a damaged one is reported as such."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from facesr_video.cli import main
from facesr_video.enhance import prepare
from facesr_video.morph.install import ENV_FACE_MODEL
from facesr_video.render.layout import CHANNELS_V1, LAYOUT_VERSION
from facesr_video.sr.network import create_model
from facesr_video.sr.weights import save_model


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch, ict_model_path: Path) -> Path:
    """An empty installed-weights folder, and the shared face model as the installed one."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(prepare, "WEIGHTS_DIR", folder)
    monkeypatch.setenv(ENV_FACE_MODEL, str(ict_model_path))
    return folder


def _weights(path: Path, scale: int = 4) -> Path:
    torch.manual_seed(0)
    net = create_model(
        "sam-light",
        scale=scale,
        prior_mode="all",
        prior_channels=len(CHANNELS_V1),
        coeff_dim=186,  # ICT-FaceKit Light's coefficient vector
        channels=8,
        cond_channels=8,
    )
    return save_model(net, path, LAYOUT_VERSION, CHANNELS_V1)


def _check(capsys) -> tuple[int, str, list[str]]:
    code = main(["models", "check"])
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


def test_sound_weights_pass(weights_dir: Path, capsys) -> None:
    _weights(weights_dir / "sam-light-x4.safetensors")
    _weights(weights_dir / "mine-x8.safetensors", scale=8)
    code, out, err = _check(capsys)
    assert code == 0 and err == []
    assert "sam-light-x4.safetensors: x4, priors all, layout priors-v1" in out
    assert "mine-x8.safetensors: x8, priors all" in out


def _missing_tensor(path: Path) -> None:
    """Valid safetensors and metadata, but a layer's weights are gone (a partial copy)."""
    good = _weights(path)
    tensors = load_file(str(good))
    with safe_open(str(good), framework="pt") as handle:
        metadata = handle.metadata()
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, str(path), metadata=metadata)


def _no_metadata(path: Path) -> None:
    """Someone's plain state dict: readable tensors, nothing saying what network they are."""
    save_file(load_file(str(_weights(path))), str(path))


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x01 not safetensors at all" * 10)


def _wrong_scale(path: Path) -> None:
    """The shipped x4 name holding x8 weights: enhance --scale 4 would refuse it."""
    _weights(path, scale=8)


CORRUPT = {
    "missing tensor": (_missing_tensor, "do not match their config"),
    "no metadata": (_no_metadata, "is not facesr-video SAM weights"),
    "garbage": (_garbage, "corrupt or not safetensors"),
    "wrong scale": (_wrong_scale, "is a x8 model but x4 was asked for"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_damaged_weights_are_reported(weights_dir: Path, capsys, case: str) -> None:
    make, words = CORRUPT[case]
    _weights(weights_dir / "sam-light-x8.safetensors", scale=8)
    bad = weights_dir / "sam-light-x4.safetensors"
    make(bad)
    code, out, err = _check(capsys)
    assert code == 2
    assert f"weights BAD: {bad}: " in out and words in out
    assert "sam-light-x8.safetensors: x8" in out  # the sound one is still checked
    assert len(err) == 1 and err[0].startswith("error: 1 of 2 weights files failed the check")
