"""Several stores trained as one: the samples in order, a source's copies held out together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesr_video.dataset.store import LayoutInfo, StoreReader
from facesr_video.dataset.store_set import StoreSet
from facesr_video.errors import InputError
from facesr_video.training.config import STORED, TrainConfig
from facesr_video.training.data import open_training_data
from tests.dataset.conftest import make_store


def _two_draws(tmp_path: Path) -> tuple[Path, Path]:
    """Two stores of the same sources (clip0..2.mp4) with different pixels: two draws."""
    return (
        make_store(tmp_path / "a", sources=3, per_source=2, seed=0),
        make_store(tmp_path / "b", sources=3, per_source=3, seed=1),
    )


def test_a_set_reads_every_store_in_turn(tmp_path: Path) -> None:
    a, b = _two_draws(tmp_path)
    first, second = StoreReader(a), StoreReader(b)
    both = StoreSet([first, second])
    assert len(both) == len(first) + len(second) == 15
    assert both.keys == first.keys + second.keys
    assert both.lr_sizes == first.lr_sizes + second.lr_sizes
    np.testing.assert_array_equal(both[2].hr, first[2].hr)
    np.testing.assert_array_equal(both[len(first) + 4].lr, second[4].lr)
    np.testing.assert_array_equal(both.coefficients(len(first)), second.coefficients(0))
    assert not np.array_equal(both[0].hr, both[len(first)].hr)  # the same key, another draw
    with pytest.raises(IndexError):
        both[len(both)]


def test_a_source_in_both_stores_is_held_out_in_both(tmp_path: Path) -> None:
    both = StoreSet.open(_two_draws(tmp_path))
    assert both.sources() == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    train, val = both.split(["clip1.mp4"])
    assert sorted(train + val) == list(range(len(both)))
    assert {both.keys[i].source for i in val} == {"clip1.mp4"}
    assert len(val) == 2 + 3  # its samples from each store


def test_stores_that_disagree_are_one_error_line(tmp_path: Path) -> None:
    a = make_store(tmp_path / "a")
    x8 = make_store(tmp_path / "x8", scale=8, lr_sizes=(8, 12))
    renamed = LayoutInfo("priors-test-v1", ("shade", "mask", "height"), 6)
    other = make_store(tmp_path / "o", layout=renamed)
    with pytest.raises(InputError, match="differ in scale"):
        StoreSet.open([a, x8])
    with pytest.raises(InputError, match="differ in prior channels"):
        StoreSet.open([a, other])


def test_training_data_of_two_draws(tmp_path: Path) -> None:
    """What `train A B` trains on: both stores' samples, the held-out person's copies in neither."""
    stores = _two_draws(tmp_path)
    config = TrainConfig(degradation=STORED, patch=8, holdout=("clip2.mp4",), quiet=True)
    data = open_training_data(list(stores), 4, config)
    one = open_training_data([stores[0]], 4, config)
    assert len(data.reader) == 15 and len(one.reader) == 6
    assert len(data.train_idx) == 10 and len(data.val_idx) == 5
    assert all(data.reader.keys[i].source != "clip2.mp4" for i in data.train_idx)
