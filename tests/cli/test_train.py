"""`facesr-video train` from the command line: a short run, and a bad store as one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facesr_video.cli import main
from facesr_video.dataset.store import LayoutInfo
from facesr_video.render.layout import LAYOUT_VERSION
from facesr_video.sr.weights import load_model
from tests.dataset.conftest import LAYOUT, make_store


def test_train_command_writes_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.set_num_threads(1)
    store = _train_store(tmp_path / "s")
    run = tmp_path / "run"
    args = ["-q", "train", str(store), "--scale", "4", "--out", str(run), "--steps", "3"]
    args += ["--batch-size", "2", "--patch", "8", "--workers", "0", "--eval-every", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "PSNR" in out and str(run / "model.safetensors") in out
    assert (run / "model.safetensors").is_file() and (run / "checkpoint.pt").is_file()


def test_wrong_scale_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = make_store(tmp_path / "s", sources=1, per_source=2)
    code = main(["train", str(store), "--scale", "8", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--scale 4" in err[0]


def test_mse_weight_reaches_the_loss_and_the_recipe(tmp_path: Path) -> None:
    """--mse-weight changes what the same seeded steps learn, and the weights record it."""
    torch.set_num_threads(1)
    store = _train_store(tmp_path / "s")
    base = _short_run(store)
    states = {}
    for weight in ("0", "500"):
        args = [*base, "--out", str(tmp_path / f"run-{weight}"), "--mse-weight", weight]
        states[weight], config = _trained(args)
        assert config["mse_weight"] == float(weight)
    assert _changed(states["0"], states["500"]), "the MSE term changed no parameter"


def test_clean_share_reaches_the_patches_and_the_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--clean-share changes what a stored-input run learns, the weights record it, and without
    --degradation stored it is one error line."""
    torch.set_num_threads(1)
    store = _train_store(tmp_path / "s")
    base = _short_run(store)
    states = {}
    for share in ("0", "1"):
        args = [*base, "--out", str(tmp_path / f"run-{share}"), "--degradation", "stored"]
        states[share], config = _trained([*args, "--clean-share", share])
        assert config["clean_share"] == float(share)
    assert _changed(states["0"], states["1"]), "clean patches changed no parameter"
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "bad"), "--clean-share", "0.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--clean-share" in err[0] and "stored" in err[0]


def test_two_stores_train_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`train A B`: both stores' samples in the run, both named in the recipe; stores that
    disagree are one error line."""
    torch.set_num_threads(1)
    a = _train_store(tmp_path / "a", per_source=2)
    b = _train_store(tmp_path / "b", per_source=3, seed=1)
    run = tmp_path / "run"
    args = _short_run(a)
    args.insert(args.index(str(a)) + 1, str(b))
    assert main([*args, "--out", str(run), "--degradation", "stored"]) == 0
    recipe = load_model(run / "model.safetensors")[1].recipe
    assert recipe["stores"] == [str(a), str(b)] and recipe["store_samples"] == 6 + 9
    x8 = _train_store(tmp_path / "x8", scale=8, lr_sizes=(8, 12))
    capsys.readouterr()
    assert main(["train", str(a), str(x8), "--scale", "4", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differ in scale" in err[0]


def _train_store(path: Path, **options: object) -> Path:
    """A synthetic store with the prior layout version `train` expects."""
    layout = LayoutInfo(LAYOUT_VERSION, LAYOUT.channels, LAYOUT.coeff_dim)
    return make_store(path, layout=layout, **options)  # type: ignore[arg-type]


def _short_run(store: Path) -> list[str]:
    """A three-step train command line on `store`, without --out."""
    options = ["--scale", "4", "--steps", "3", "--batch-size", "2", "--patch", "8", "--ema", "0"]
    return ["-q", "train", str(store), *options]


def _trained(args: list[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Run `train` with `args` (it must succeed); the weights and the recipe's train config."""
    assert main(args) == 0
    out = Path(args[args.index("--out") + 1])
    model, info = load_model(out / "model.safetensors")
    return model.state_dict(), info.recipe["train_config"]


def _changed(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in a if not torch.equal(a[k], b[k])]
