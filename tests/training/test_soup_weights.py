"""tools/soup_weights.py: a point on the line between two fine-tunes of one network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet
from facesr_video.sr.weights import load_model, save_model

TOOL = Path(__file__).resolve().parents[2] / "tools" / "soup_weights.py"
SMALL = dict(channels=8, num_groups=1, blocks_per_group=1, cond_channels=8, reduction=2)
CHANNELS = ("shade", "normal_x", "normal_y", "normal_z", "mask")


def _soup_main():
    spec = importlib.util.spec_from_file_location("soup_weights", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _saved(path: Path, seed: int, channels: int = 8) -> Path:
    torch.manual_seed(seed)
    config = SAMConfig(scale=4, **{**SMALL, "channels": channels}).with_priors("all", 5, 7)
    return save_model(SAMNet(config), path, "priors-v1", CHANNELS, {"seed": seed})


def test_the_soup_is_the_weighted_mean_and_says_what_it_mixed(tmp_path: Path) -> None:
    a, b = _saved(tmp_path / "a.safetensors", 1), _saved(tmp_path / "b.safetensors", 2)
    out = tmp_path / "soup.safetensors"
    assert _soup_main()([str(a), str(b), "--weight", "0.25", "--out", str(out)]) == 0
    soup, info = load_model(out, expected_layout_version="priors-v1", scale=4)
    state_a, state_b = load_model(a)[0].state_dict(), load_model(b)[0].state_dict()
    for name, value in soup.state_dict().items():
        torch.testing.assert_close(value, 0.75 * state_a[name] + 0.25 * state_b[name])
    assert info.recipe["soup"]["weight_of_b"] == 0.25 and info.recipe["b"] == {"seed": 2}


def test_different_networks_or_an_input_as_output_are_refused(tmp_path: Path) -> None:
    a, b = _saved(tmp_path / "a.safetensors", 1), _saved(tmp_path / "b.safetensors", 2, 16)
    before = a.read_bytes()
    with pytest.raises(SystemExit):
        _soup_main()([str(a), str(b), "--weight", "0.5", "--out", str(tmp_path / "s.safetensors")])
    with pytest.raises(SystemExit):
        _soup_main()([str(a), str(a), "--weight", "0.5", "--out", str(a)])
    assert a.read_bytes() == before and not (tmp_path / "s.safetensors").exists()
