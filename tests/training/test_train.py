"""Training on tiny synthetic stores: learns, resumes exactly, stops cleanly on bad input."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from facesr_video.dataset.patches import PatchDataset, SRBatch
from facesr_video.dataset.store import StoreReader, StoreWriter
from facesr_video.errors import InputError, ModelError, OutputError
from facesr_video.sr.weights import load_model
from facesr_video.training import loop
from facesr_video.training.checkpoints import CHECKPOINT, load_checkpoint
from facesr_video.training.config import TrainConfig, TrainingDiverged
from facesr_video.training.data import open_training_data, prior_channels
from facesr_video.training.export import WEIGHTS
from facesr_video.training.loop import train
from tests.dataset.conftest import LAYOUT, make_store, synthetic_sample

TINY = TrainConfig(
    steps=6,
    batch_size=2,
    patch=8,
    lr=1e-3,
    warmup_steps=1,
    checkpoint_every=3,
    eval_every=3,
    quiet=True,
    holdout=("clip2.mp4",),
    degrade_on_the_fly=False,  # stored LR: a deterministic task a few steps can learn
)


def _l1(model: torch.nn.Module, reader: StoreReader, indices: list[int]) -> float:
    data = PatchDataset(reader, indices, 16, train=False, degrade_on_the_fly=False)
    items = [data[(i, 100 + i)] for i in range(len(indices))]
    b = SRBatch(*(torch.stack(t) for t in zip(*items, strict=True)))
    with torch.no_grad():
        return float((model(b.lr, b.priors, b.coeffs) - b.hr).abs().mean())


def test_training_reduces_the_loss_and_exports_weights(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", per_source=6)
    config = replace(TINY, steps=60, batch_size=4, eval_every=30, checkpoint_every=30)
    result = train(store, 4, tmp_path / "run", config)
    model, info = load_model(result.weights, expected_layout_version=LAYOUT.version, scale=4)
    torch.manual_seed(config.seed)
    from facesr_video.sr.network import SAMNet

    untrained = SAMNet(info.config).eval()
    # Measured on what training never saw: the held-out source, and a store made apart.
    reader = StoreReader(store)
    train_idx, held_out = reader.split(list(config.holdout))
    assert held_out and not set(held_out) & set(train_idx)
    assert _l1(model, reader, held_out) < 0.97 * _l1(untrained, reader, held_out)
    unseen = StoreReader(make_store(tmp_path / "unseen", sources=2, per_source=6, seed=7))
    every = list(range(len(unseen)))
    assert _l1(model, unseen, every) < 0.97 * _l1(untrained, unseen, every)
    assert info.recipe["steps"] == 60 and info.recipe["holdout_sources"] == ["clip2.mp4"]
    assert [e.step for e in result.evals] == [30, 60]
    last = result.evals[-1]
    assert last.sheet is not None and last.sheet.is_file()
    assert np.isfinite([last.psnr, last.ssim, last.bicubic_psnr]).all()


def test_resume_continues_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store(tmp_path / "s")
    straight = train(store, 4, tmp_path / "a", TINY)

    save = loop.save_checkpoint

    def save_then_interrupt(path: Path, state: dict) -> bool:
        save(path, state)
        raise KeyboardInterrupt  # Ctrl-C right after the step-3 checkpoint

    with monkeypatch.context() as patch:
        patch.setattr(loop, "save_checkpoint", save_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            train(store, 4, tmp_path / "b", TINY)
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT)["step"] == 3
    resumed = train(store, 4, tmp_path / "b", replace(TINY, resume=True))
    assert resumed.steps == 6
    a, _ = load_model(straight.weights)
    b, _ = load_model(resumed.weights)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6), name


def test_resume_errors_and_no_overwrite(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    with pytest.raises(ModelError, match="no checkpoint"):
        train(store, 4, tmp_path / "run", replace(TINY, resume=True))
    train(store, 4, tmp_path / "run", replace(TINY, steps=3))
    with pytest.raises(OutputError, match="already holds a training run"):
        train(store, 4, tmp_path / "run", TINY)
    with pytest.raises(ModelError, match="another model"):
        train(store, 4, tmp_path / "run", replace(TINY, resume=True, priors="none"))
    ckpt = tmp_path / "run" / CHECKPOINT
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.raises(ModelError, match="corrupt"):
        train(store, 4, tmp_path / "run", replace(TINY, resume=True))
    assert ckpt.stat().st_size == 200  # left for the user to restore, not replaced


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    good = make_store(tmp_path / "good")
    train(good, 4, tmp_path / "run", replace(TINY, steps=3))
    bad = tmp_path / "bad"
    rng = np.random.default_rng(0)
    with StoreWriter(bad, 4, LAYOUT) as writer:
        for i in range(6):
            s = synthetic_sample(rng, f"c{i % 3}.mp4", 0, i, 16, 4)
            priors = s.priors.copy()
            priors[0, 10:20, 10:20] = np.nan
            writer.append(replace(s, priors=priors, source=f"clip{i % 3}.mp4"))
    with pytest.raises(TrainingDiverged, match="at step 4") as error:
        train(bad, 4, tmp_path / "run", replace(TINY, resume=True))
    assert "step 3" in error.value.one_line()
    state = load_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_bad_stores_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    StoreWriter(empty, 4, LAYOUT).close()
    with pytest.raises(InputError, match="no samples"):
        train(empty, 4, tmp_path / "r1", TINY)
    store = make_store(tmp_path / "s")
    with pytest.raises(InputError, match="x4, not x8"):
        train(store, 8, tmp_path / "r2", TINY)
    with pytest.raises(InputError, match="prior layout"):
        train(store, 4, tmp_path / "r3", replace(TINY, expected_layout_version="priors-v7"))
    assert not (tmp_path / "r2").exists()


def test_samples_smaller_than_the_patch_are_left_out(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", lr_sizes=(16, 24))
    reader = StoreReader(store)
    big = [i for i in range(len(reader)) if reader.lr_sizes[i] >= 24]
    data = open_training_data([store], 4, replace(TINY, patch=24))
    assert data.train_idx and set(data.train_idx) <= set(big)
    assert data.val_idx and set(data.val_idx) <= set(big)
    assert train(store, 4, tmp_path / "r", replace(TINY, patch=24, steps=2)).weights.is_file()
    with pytest.raises(InputError, match="every sample is smaller than the patch"):
        train(store, 4, tmp_path / "r2", replace(TINY, patch=32))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, store: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    train(Path(store), 4, Path(out), replace(TINY, device="cpu"))


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_one_process_with_double_batch(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    mp.spawn(
        _ddp_worker,
        args=(2, _free_port(), str(store), str(tmp_path / "ddp")),
        nprocs=2,
        join=True,
    )
    single = train(store, 4, tmp_path / "one", replace(TINY, batch_size=4))
    a, info = load_model(tmp_path / "ddp" / "model.safetensors")
    b, _ = load_model(single.weights)
    assert info.recipe["world_size"] == 2
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-4)


def test_prior_modes_pick_their_channels() -> None:
    names = ("render_r", "render_g", "render_b", "normal_x", "mask")
    assert prior_channels(names, "none") == []
    assert prior_channels(names, "render") == [0, 1, 2]
    assert prior_channels(names, "all") == [0, 1, 2, 3, 4]
    assert prior_channels(("shade", "mask"), "render") == [0, 1]


@pytest.mark.parametrize("mode", ["none", "render"])
def test_ablation_modes_train_and_record_their_channels(tmp_path: Path, mode: str) -> None:
    result = train(make_store(tmp_path / "s"), 4, tmp_path / "run", replace(TINY, priors=mode))
    model, info = load_model(result.weights)
    assert model.config.prior_mode == mode
    assert info.layout_channels == (() if mode == "none" else LAYOUT.channels)


def test_init_starts_from_given_weights_and_refuses_another_config(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    first = train(store, 4, tmp_path / "a", replace(TINY, steps=3))
    start, _ = load_model(first.weights)
    # zero learning rate: the exported EMA of an --init run is the init weights themselves
    frozen = replace(TINY, steps=2, lr=0.0, init=str(first.weights))
    again, _ = load_model(train(store, 4, tmp_path / "b", frozen).weights)
    for (name, a), b in zip(start.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
    with pytest.raises(ModelError, match="--init weights"):
        train(store, 4, tmp_path / "c", replace(frozen, priors="none"))
    with pytest.raises(InputError, match="not found"):
        train(store, 4, tmp_path / "d", replace(frozen, init=str(tmp_path / "missing")))


def test_init_from_another_upsampler_takes_the_body(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    progressive, _ = load_model(train(store, 4, tmp_path / "a", replace(TINY, steps=3)).weights)
    frozen = replace(
        TINY,
        model="sam-light-direct",
        steps=2,
        lr=0.0,
        init=str(tmp_path / "a" / "model.safetensors"),
    )
    direct, _ = load_model(train(store, 4, tmp_path / "b", frozen).weights)
    assert direct.config.upsampler == "direct"
    body = [k for k in direct.state_dict() if k.startswith(("groups.", "cond_net.", "head."))]
    assert body
    for name in body:
        assert torch.allclose(direct.state_dict()[name], progressive.state_dict()[name]), name
    assert direct.state_dict()["tail.0.weight"].shape[0] == 3 * 4 * 4


def test_init_from_fewer_blocks_starts_as_the_parent(tmp_path: Path) -> None:
    """A deeper network started from a shallower one computes what the parent does: its extra
    blocks begin as identity; then they train."""
    store = make_store(tmp_path / "s")
    two = replace(TINY, model="sam-light-direct", steps=3)
    parent, _ = load_model(train(store, 4, tmp_path / "a", two).weights)
    deeper = replace(two, model="sam-light-direct-b3", init=str(tmp_path / "a" / WEIGHTS))
    frozen, _ = load_model(train(store, 4, tmp_path / "b", replace(deeper, lr=0.0)).weights)
    assert frozen.config.blocks_per_group == 3
    reader = StoreReader(store)
    batch = next(iter(torch.utils.data.DataLoader(PatchDataset(reader, [0, 1], 8, False), 2)))
    with torch.no_grad():
        same = frozen(batch.lr, batch.priors, batch.coeffs)
        assert torch.allclose(same, parent(batch.lr, batch.priors, batch.coeffs), atol=1e-5)
    trained, _ = load_model(train(store, 4, tmp_path / "c", replace(deeper, steps=4)).weights)
    assert trained.groups[0].blocks[2].conv2.weight.abs().sum() > 0


def test_exported_weights_are_the_ema_not_the_last_step(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    run = train(store, 4, tmp_path / "run", replace(TINY, steps=12, ema_decay=0.9))
    exported, _ = load_model(run.weights)
    state = load_checkpoint(run.checkpoint)
    assert state["ema_updates"] == 12
    last = state["model"]
    ema = state["ema"]
    differs = [k for k in last if last[k].is_floating_point() and not torch.equal(last[k], ema[k])]
    assert differs, "the EMA equals the raw weights: it is not averaging"
    for name, value in exported.state_dict().items():
        assert torch.equal(value, ema[name]), name
