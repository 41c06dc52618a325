"""`train`'s command line and TrainConfig agree on every default, and a store whose prior layout
is not the one enhance renders is refused before any training."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import typer

from facesr_video.cli import app, main
from facesr_video.dataset.store import LayoutInfo
from facesr_video.training.config import TrainConfig
from tests.dataset.conftest import LAYOUT, make_store

OPTION_FIELDS = {"workers": "num_workers", "ema": "ema_decay"}  # CLI name -> TrainConfig field
PARSED = {"scale_augment": lambda text: tuple(float(v) for v in text.split(","))}


def test_cli_defaults_are_train_config_defaults() -> None:
    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    config = {f.name: f.default for f in fields(TrainConfig)}
    compared = 0
    for param in command.params:
        name = OPTION_FIELDS.get(param.name, param.name)
        if name not in config or param.required:
            continue
        default = tuple(param.default) if name in ("holdout", "trainable") else param.default
        default = PARSED[name](default) if name in PARSED else default
        assert default == config[name], (
            f"--{param.name}: CLI {default!r}, TrainConfig {config[name]!r}"
        )
        compared += 1
    assert compared >= 14


def test_store_with_another_prior_layout_is_refused(tmp_path: Path, capsys) -> None:
    old = LayoutInfo("priors-v0", LAYOUT.channels, LAYOUT.coeff_dim)
    store = make_store(tmp_path / "s", sources=2, per_source=2, layout=old)
    run = tmp_path / "run"
    code = main(["train", str(store), "--scale", "4", "--out", str(run), "--steps", "1"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert "prior layout 'priors-v0', expected 'priors-v1'" in err[0]
    assert "--priors none" in err[0]
    assert not (run / "model.safetensors").exists()
