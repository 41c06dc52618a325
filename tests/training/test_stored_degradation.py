"""`train --degradation stored`: the patches' input is the store's own low-resolution crop."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from facesr_video.dataset.degrade.recipes import CLEAN
from facesr_video.dataset.store import StoreReader
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


def test_stored_patches_are_crops_of_the_stored_input(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", per_source=3)
    config = TrainConfig(
        degradation=STORED, patch=8, batch_size=2, quiet=True, holdout=("clip2.mp4",), flip=False
    )
    data = open_training_data(store, 4, config)
    dataset, _ = training_batches(
        data, config, SAMConfig(scale=4, prior_mode="none"), 0, Distributed(), "cpu"
    )
    reader = StoreReader(store)
    for position in range(len(dataset)):
        batch = dataset[(position, 7 + position)]
        sample = reader[data.train_idx[position]]
        lr = np.asarray(sample.lr, dtype=np.float32) / 255.0
        patch = batch.lr.permute(1, 2, 0).numpy()
        hits = [
            (y, x)
            for y in range(lr.shape[0] - 7)
            for x in range(lr.shape[1] - 7)
            if np.allclose(lr[y : y + 8, x : x + 8], patch, atol=1e-6)
        ]
        assert hits, "the patch is not a crop of the stored low-resolution input"
        y, x = hits[0]
        hr = np.asarray(sample.hr, dtype=np.float32)[y * 4 : (y + 8) * 4, x * 4 : (x + 8) * 4]
        assert torch.allclose(batch.hr.permute(1, 2, 0), torch.from_numpy(hr / 255.0), atol=1e-6)


def test_a_stored_input_cannot_be_read_at_another_scale(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    with pytest.raises(InputError, match="x4, not x2"):
        open_training_data(store, 2, replace(TrainConfig(), degradation=STORED, quiet=True))
