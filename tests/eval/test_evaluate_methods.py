"""Which methods evaluate runs: a multi-frame network also without neighbours, and extra weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from facesr_video.eval.evaluate import EvaluateOptions
from facesr_video.eval.methods import build_methods
from facesr_video.eval.results import (
    METHOD_GENERIC_PRIORS,
    METHOD_ONE_FRAME,
    METHOD_OURS,
    METHOD_SINGLE_FRAME,
    METHOD_ZERO_PRIORS,
)
from facesr_video.render.layout import CHANNELS_V1, LAYOUT_VERSION
from facesr_video.sr.network import SAMNet, create_model
from facesr_video.sr.weights import save_model
from tests.conftest import ICT_NPZ, require


def _weights(path: Path, frames: int, priors: str = "all") -> Path:
    torch.manual_seed(0)
    sizes = {"prior_channels": 13, "coeff_dim": 186} if priors == "all" else {}
    single = create_model("sam-tiny", prior_mode=priors, **sizes)
    net = SAMNet(replace(single.config, frames=frames))
    save_model(net, path, LAYOUT_VERSION, CHANNELS_V1, recipe={"note": "untrained, for tests"})
    return path


@pytest.fixture
def face_model(monkeypatch) -> None:
    monkeypatch.setenv("FACESR_FACE_MODEL", str(require(ICT_NPZ)))


def test_multi_frame_weights_are_also_run_alone(tmp_path: Path, face_model) -> None:
    five = _weights(tmp_path / "five.safetensors", 5)
    one = _weights(tmp_path / "one.safetensors", 1)
    options = EvaluateOptions((tmp_path,), tmp_path / "r", 4, weights=five, device="cpu")
    methods, settings, _ = build_methods(options)
    assert [m.name for m in methods][1:] == [METHOD_OURS, METHOD_ONE_FRAME]
    assert settings["frames (window)"] == "5, registration mesh"
    both = replace(options, weights_single_frame=one, one_frame_too=False, registration="box")
    methods, settings, _ = build_methods(both)
    assert [m.name for m in methods][1:] == [METHOD_OURS, METHOD_SINGLE_FRAME]
    assert settings["frames (window)"] == "5, registration box"
    assert "--skip-one-frame" in both.command_line() and "--registration box" in both.command_line()
    single, _, _ = build_methods(replace(options, weights=one))
    assert [m.name for m in single][1:] == [METHOD_OURS]


def test_the_network_runtime_is_reported_and_reproduced(tmp_path: Path, face_model) -> None:
    one = _weights(tmp_path / "one.safetensors", 1)
    options = EvaluateOptions((tmp_path,), tmp_path / "r", 4, weights=one, device="cpu")
    _, settings, _ = build_methods(options)
    assert settings["network runtime"] in {"torch fp32", "openvino fp32", "openvino bf16"}
    assert "--runtime" not in options.command_line()
    on_torch = replace(options, runtime="torch")
    _, settings, _ = build_methods(on_torch)
    assert settings["network runtime"] == "torch fp32"
    assert "--runtime torch" in on_torch.command_line()


def test_prior_controls_run_the_same_network_with_other_priors(tmp_path: Path, face_model) -> None:
    one = _weights(tmp_path / "one.safetensors", 1)
    options = EvaluateOptions(
        (tmp_path,), tmp_path / "r", 4, weights=one, device="cpu", prior_controls=True
    )
    methods, _, _ = build_methods(options)
    names = [m.name for m in methods][1:]
    assert names == [METHOD_OURS, METHOD_GENERIC_PRIORS, METHOD_ZERO_PRIORS]
    assert [m.build().inputs.source for m in methods[1:]] == ["fitted", "generic", "zero"]
    assert "--prior-controls" in options.command_line()
    # A network without priors has nothing to control for.
    plain = _weights(tmp_path / "plain.safetensors", 1, priors="none")
    methods, _, _ = build_methods(replace(options, weights=plain))
    assert [m.name for m in methods][1:] == [METHOD_OURS]
