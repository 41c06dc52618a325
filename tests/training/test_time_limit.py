"""`train --time-limit`: a run stopped by its deadline leaves a checkpoint and usable weights,
keeps the schedule of its full --steps, and a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from facesr_video.cli import main
from facesr_video.dataset.store import LayoutInfo
from facesr_video.errors import InputError
from facesr_video.render.layout import LAYOUT_VERSION
from facesr_video.sr.weights import load_model
from facesr_video.training import loop
from facesr_video.training.checkpoints import load_checkpoint
from facesr_video.training.loop import lr_factor, train
from tests.dataset.conftest import LAYOUT, make_store
from tests.training.test_train import TINY


@pytest.fixture
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline's clock reads 0 at the start and one second more at each later look."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(loop, "monotonic", lambda: float(next(ticks)))


def test_time_limit_stops_with_checkpoint_weights_and_the_full_schedule(
    tmp_path: Path, ticking_clock: None
) -> None:
    store = make_store(tmp_path / "s")
    config = replace(TINY, time_limit=2.5)  # looked at after steps 1, 2, 3: past it after 3
    stopped = train(store, 4, tmp_path / "run", config)
    assert stopped.out_of_time and stopped.steps == 3
    state = load_checkpoint(stopped.checkpoint)
    assert state["step"] == 3
    exported, info = load_model(stopped.weights)
    for name, value in exported.state_dict().items():
        assert torch.equal(value, state["ema"][name]), name
    assert info.recipe["steps"] == 3 and info.recipe["train_config"]["steps"] == TINY.steps
    assert [e.step for e in stopped.evals] == [3]  # validated at the stop
    # the schedule is the one for all 6 steps, not one squeezed into the 3 that ran
    lr = state["optimizer"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(TINY.lr * lr_factor(3, TINY))
    assert lr > TINY.lr * TINY.min_lr_ratio * 1.5


def test_a_resumed_stopped_run_ends_as_an_uninterrupted_one(
    tmp_path: Path, ticking_clock: None
) -> None:
    store = make_store(tmp_path / "s")
    straight = train(store, 4, tmp_path / "a", TINY)
    assert not straight.out_of_time and straight.steps == TINY.steps
    first = train(store, 4, tmp_path / "b", replace(TINY, time_limit=1.5))
    assert first.steps == 2
    resumed = train(store, 4, tmp_path / "b", replace(TINY, resume=True))
    assert resumed.steps == TINY.steps and not resumed.out_of_time
    a, _ = load_model(straight.weights)
    b, _ = load_model(resumed.weights)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6), name
    # the validation history survives the stop: the first run's step, then the resumed run's
    assert [e.step for e in straight.evals] == [3, 6]
    assert [e.step for e in resumed.evals] == [2, 3, 6]
    assert resumed.evals[-1].psnr == pytest.approx(straight.evals[-1].psnr, abs=1e-4)
    saved = json.loads((tmp_path / "b" / "validation.json").read_text())
    assert [record["step"] for record in saved] == [2, 3, 6]
    assert Path(saved[0]["sheet"]).is_file()


def test_time_limit_must_be_positive() -> None:
    with pytest.raises(InputError, match="--time-limit"):
        replace(TINY, time_limit=0.0)


def test_train_command_time_limit_exits_0_and_says_the_step(
    tmp_path: Path, ticking_clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = LayoutInfo(LAYOUT_VERSION, LAYOUT.channels, LAYOUT.coeff_dim)  # what train expects
    store = make_store(tmp_path / "s", layout=layout)
    run = tmp_path / "run"
    args = ["-q", "train", str(store), "--scale", "4", "--out", str(run), "--steps", "50"]
    args += ["--batch-size", "2", "--patch", "8", "--time-limit", "1.5"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "stopped at step 2 of 50" in out
    assert (run / "model.safetensors").is_file() and load_checkpoint(run / "checkpoint.pt")
