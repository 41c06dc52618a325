"""Weights I/O: round trip, metadata, scale/layout/corruption errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facesr_video.errors import ModelError
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet
from facesr_video.sr.weights import load_model, read_info, save_model

SMALL = dict(channels=8, num_groups=1, blocks_per_group=1, cond_channels=8, reduction=2)
CHANNELS = ("shade", "normal_x", "normal_y", "normal_z", "mask")


def _model(mode: str = "all", scale: int = 4) -> SAMNet:
    torch.manual_seed(1)
    return SAMNet(SAMConfig(scale=scale, **SMALL).with_priors(mode, 5, 7)).eval()


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = _model()
    path = save_model(model, tmp_path / "m.safetensors", "priors-v1", CHANNELS, {"steps": 12})
    loaded, info = load_model(path, expected_layout_version="priors-v1", scale=4)
    lr, priors, coeffs = torch.rand(1, 3, 16, 16), torch.rand(1, 5, 64, 64), torch.randn(1, 7)
    with torch.no_grad():
        assert torch.equal(model(lr, priors, coeffs), loaded(lr, priors, coeffs))
    assert info.config == model.config
    assert info.layout_version == "priors-v1" and info.layout_channels == CHANNELS
    assert info.recipe == {"steps": 12}
    assert not list(tmp_path.glob("*.tmp"))


def test_scale_mismatch_is_a_model_error(tmp_path: Path) -> None:
    path = save_model(_model(scale=8), tmp_path / "m.safetensors", "priors-v1", CHANNELS)
    with pytest.raises(ModelError, match="x8 model but x4") as error:
        load_model(path, scale=4)
    assert "--scale 8" in error.value.one_line()


def test_layout_mismatch_says_to_retrain(tmp_path: Path) -> None:
    path = save_model(_model(), tmp_path / "m.safetensors", "priors-v1", CHANNELS)
    with pytest.raises(ModelError, match="priors-v1") as error:
        load_model(path, expected_layout_version="priors-v2")
    assert "retrain" in error.value.one_line()


def test_no_prior_model_loads_with_any_layout(tmp_path: Path) -> None:
    path = save_model(_model("none"), tmp_path / "m.safetensors", "priors-v1", CHANNELS)
    model, info = load_model(path, expected_layout_version="priors-v9")
    assert info.layout_version == "none" and model.cond_net is None


def test_corrupt_or_missing_file_is_a_model_error(tmp_path: Path) -> None:
    path = save_model(_model(), tmp_path / "m.safetensors", "priors-v1", CHANNELS)
    data = path.read_bytes()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        load_model(broken)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="corrupt"):
        read_info(garbage)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.safetensors")
