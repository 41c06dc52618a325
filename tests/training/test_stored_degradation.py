"""`train --degradation stored`: the patches' input is the store's own low-resolution crop."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facesr_video.dataset.degrade.recipes import CLEAN
from facesr_video.dataset.patches import PatchDataset
from facesr_video.errors import InputError
from facesr_video.sr.config import SAMConfig
from facesr_video.training.config import STORED, TrainConfig
from facesr_video.training.data import open_training_data, training_batches
from facesr_video.training.distributed import Distributed
from tests.dataset.conftest import make_store


def test_stored_turns_the_on_the_fly_recipe_off() -> None:
    config = TrainConfig(degradation=STORED)
    assert not config.on_the_fly and config.degrade_config == CLEAN
    assert TrainConfig(degradation="h264").on_the_fly
    with pytest.raises(InputError, match="stored"):
        TrainConfig(degradation="no-such-recipe")


def _stored_crop(lr_crop: np.ndarray, patch: np.ndarray) -> tuple[int, int] | None:
    """Where `patch` (p, p, 3) lies in the stored LR crop, or None if it is not a crop of it."""
    p = patch.shape[0]
    for y in range(lr_crop.shape[0] - p + 1):
        for x in range(lr_crop.shape[1] - p + 1):
            if np.allclose(lr_crop[y : y + p, x : x + p], patch, atol=1e-6):
                return y, x
    return None


def _stored_dataset(tmp_path: Path, clean_share: float = 0.0) -> tuple[PatchDataset, list[int]]:
    store = make_store(tmp_path / "s", per_source=3)
    config = TrainConfig(
        degradation=STORED,
        patch=8,
        batch_size=2,
        quiet=True,
        holdout=("clip2.mp4",),
        flip=False,
        clean_share=clean_share,
    )
    data = open_training_data([store], 4, config)
    dataset, _ = training_batches(
        data, config, SAMConfig(scale=4, prior_mode="none"), 0, Distributed(), "cpu"
    )
    return dataset, data.train_idx


def test_stored_patches_are_crops_of_the_stored_input(tmp_path: Path) -> None:
    dataset, train_idx = _stored_dataset(tmp_path)
    reader = dataset.reader
    for position in range(len(dataset)):
        batch = dataset[(position, 7 + position)]
        sample = reader[train_idx[position]]
        lr = np.asarray(sample.lr, dtype=np.float32) / 255.0
        hit = _stored_crop(lr, batch.lr.permute(1, 2, 0).numpy())
        assert hit, "the patch is not a crop of the stored low-resolution input"
        y, x = hit
        hr = np.asarray(sample.hr, dtype=np.float32)[y * 4 : (y + 8) * 4, x * 4 : (x + 8) * 4]
        assert torch.allclose(batch.hr.permute(1, 2, 0), torch.from_numpy(hr / 255.0), atol=1e-6)


def test_clean_share_mixes_clean_patches_into_the_stored_input(tmp_path: Path) -> None:
    dataset, train_idx = _stored_dataset(tmp_path, clean_share=0.5)
    stored = clean = 0
    for seed in range(24):
        position = seed % len(dataset)
        batch = dataset[(position, seed)]
        lr_crop = np.asarray(dataset.reader[train_idx[position]].lr, dtype=np.float32) / 255.0
        if _stored_crop(lr_crop, batch.lr.permute(1, 2, 0).numpy()) is not None:
            stored += 1
            continue
        clean += 1  # made from its own HR patch: close to the patch's area average
        area = F.avg_pool2d(batch.hr[None], 4)[0]
        assert float((batch.lr - area).abs().mean()) < 0.03
    assert stored >= 4 and clean >= 4, (stored, clean)
    assert all(torch.equal(a, b) for a, b in zip(dataset[(0, 3)], dataset[(0, 3)], strict=True))


def test_clean_share_needs_the_stored_input() -> None:
    with pytest.raises(InputError, match="--clean-share"):
        TrainConfig(degradation="bicubic", clean_share=0.3)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        TrainConfig(degradation=STORED, clean_share=1.5)


def test_a_stored_input_cannot_be_read_at_another_scale(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    with pytest.raises(InputError, match="x4, not x2"):
        open_training_data([store], 2, replace(TrainConfig(), degradation=STORED, quiet=True))
