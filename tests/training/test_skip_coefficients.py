"""Networks that leave coefficient entries out: they ignore them, and `--init` from weights that
read them keeps what those entries added on average."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from facesr_video.dataset.store import StoreReader
from facesr_video.render.layout import translation_indices
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet, create_model
from facesr_video.sr.weights import load_model, save_model
from facesr_video.training.config import TrainConfig
from facesr_video.training.data import coefficient_mean, open_training_data
from facesr_video.training.network import build_model, skip_coefficients
from tests.dataset.conftest import make_store

SMALL = dict(channels=8, num_groups=1, blocks_per_group=1, cond_channels=8, reduction=2)
DIM = 40  # 7 identity/expression entries, then pose (6) and lighting (27)


def _network(skip: tuple[int, ...] = ()) -> SAMNet:
    torch.manual_seed(0)
    config = SAMConfig(scale=4, **SMALL).with_priors("all", 5, DIM, skip)
    model = SAMNet(config).eval()
    with torch.no_grad():  # a projection that matters: the default init is near zero
        model.cond_net.coeff_proj.weight.normal_(0.0, 0.5)
    return model


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.rand(2, 3, 8, 8), torch.rand(2, 5, 32, 32), torch.randn(2, DIM) * 3


def test_skipped_entries_change_nothing_and_the_others_do() -> None:
    skip = translation_indices(DIM)
    assert skip == (10, 11, 12)
    model = _network(skip)
    lr, priors, coeffs = _inputs()
    out = model(lr, priors, coeffs)
    moved = coeffs.clone()
    moved[:, list(skip)] += 50.0
    assert torch.equal(out, model(lr, priors, moved))
    other = coeffs.clone()
    other[:, 0] += 5.0
    assert not torch.allclose(out, model(lr, priors, other))


def test_skipping_keeps_the_output_at_the_mean(tmp_path: Path) -> None:
    full = _network()
    lr, priors, coeffs = _inputs()
    skip = translation_indices(DIM)
    mean = torch.randn(DIM).double() * 10
    at_mean = coeffs.clone()
    at_mean[:, list(skip)] = mean[list(skip)].float()
    reduced = skip_coefficients(full, skip, mean).eval()
    assert reduced.config.coeff_skip == skip
    expected = full(lr, priors, at_mean)
    assert torch.allclose(reduced(lr, priors, coeffs), expected, atol=1e-5)
    # the skip travels with the weights
    save_model(reduced, tmp_path / "w.safetensors", "test", ("a",) * 5)
    loaded, info = load_model(tmp_path / "w.safetensors")
    assert info.config.coeff_skip == skip
    assert torch.allclose(loaded.eval()(lr, priors, coeffs), expected, atol=1e-5)


def test_init_from_weights_reading_the_translation(tmp_path: Path) -> None:
    torch.manual_seed(0)
    tiny = create_model("sam-tiny", scale=4).config.with_priors("all", 5, DIM)
    full = SAMNet(tiny).eval()
    save_model(full, tmp_path / "full.safetensors", "test", ("a",) * 5)
    mean = torch.zeros(DIM).double()
    mean[12] = 45.0  # trans_z: the camera distance
    asked: list[int] = []

    def coeff_mean() -> torch.Tensor:
        asked.append(1)
        return mean

    config = TrainConfig(model="sam-tiny", init=str(tmp_path / "full.safetensors"))
    built = build_model(config, 4, 5, DIM, "cpu", coeff_mean).eval()
    assert built.config.coeff_skip == (10, 11, 12) and asked == [1]
    lr, priors, coeffs = _inputs()
    at_mean = coeffs.clone()
    at_mean[:, 10:13] = mean[10:13].float()
    assert torch.allclose(built(lr, priors, coeffs), full(lr, priors, at_mean), atol=1e-5)
    kept = build_model(replace(config, translation=True), 4, 5, DIM, "cpu", coeff_mean)
    assert kept.config.coeff_skip == () and asked == [1]


def test_coefficient_mean_is_the_training_samples_mean(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    data = open_training_data([store], 4, TrainConfig(holdout=("clip2.mp4",), patch=8, quiet=True))
    reader = StoreReader(store)
    expected = torch.stack([torch.from_numpy(reader[i].coeffs) for i in data.train_idx]).mean(0)
    assert torch.allclose(coefficient_mean(data).float(), expected.float(), atol=1e-6)
    assert len(data.val_idx) and not set(data.val_idx) & set(data.train_idx)
