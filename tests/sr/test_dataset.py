"""Patch dataset and step sampler: aligned patches, determinism, rank split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.sr.dataset import Augment, PatchDataset, StepBatchSampler
from facesr_video.sr.store import StoreReader
from tests.sr.conftest import make_store


def test_patches_are_aligned_across_lr_hr_and_priors(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "s", sources=1, per_source=4))
    data = PatchDataset(reader, range(4), patch=8, train=True, degrade_on_the_fly=False)
    for key in [(0, 1), (1, 2), (2, 3), (3, 4)]:
        item = data[key]
        assert item.lr.shape == (3, 8, 8) and item.hr.shape == (3, 32, 32)
        assert item.priors.shape == (3, 32, 32) and item.coeffs.shape == (6,)
        hr = (item.hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        box = np.asarray(Image.fromarray(hr).resize((8, 8), Image.Resampling.BOX), np.float32)
        assert np.abs(box - item.lr.permute(1, 2, 0).numpy() * 255).max() <= 1.0
        shade = item.hr.mean(dim=0)
        assert torch.allclose(item.priors[0], shade, atol=2e-3)  # channel 0 is HR mean


def test_same_key_same_item_and_centre_for_validation(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "s", sources=1, per_source=2))
    train = PatchDataset(reader, [0, 1], patch=8)
    assert all(torch.equal(a, b) for a, b in zip(train[(0, 5)], train[(0, 5)], strict=True))
    assert not torch.equal(train[(0, 5)].lr, train[(0, 6)].lr)
    val = PatchDataset(reader, [0], patch=16, train=False, degrade_on_the_fly=False)
    assert val[(0, 1)].hr.shape == (3, 64, 64)


def test_patch_larger_than_a_sample_is_refused(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "s", sources=1, per_source=2))
    with pytest.raises(ValueError, match="smaller than the patch"):
        PatchDataset(reader, [0, 1], patch=32)


def test_step_sampler_resumes_and_splits_ranks() -> None:
    full = list(StepBatchSampler(50, 4, 0, 6, seed=1))
    tail = list(StepBatchSampler(50, 4, 3, 6, seed=1))
    assert full[3:] == tail and len(full) == 6
    r0 = list(StepBatchSampler(50, 2, 0, 6, seed=1, rank=0, world_size=2))
    r1 = list(StepBatchSampler(50, 2, 0, 6, seed=1, rank=1, world_size=2))
    assert [a + b for a, b in zip(r0, r1, strict=True)] == full


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_scale_augmentation_shrinks_image_and_maps_together(tmp_path: Path) -> None:
    """The synthetic store's first prior channel is the HR image's brightness, so a shrunk patch
    keeps them aligned only if both are resized from the same region."""
    reader = StoreReader(make_store(tmp_path / "s", lr_sizes=(48,)))
    data = PatchDataset(
        reader,
        range(len(reader)),
        8,
        train=True,
        augment=Augment(flip=False, scale=(0.4, 0.6), min_face=4.0),
        coeffs_used=False,
    )
    plain = PatchDataset(reader, range(len(reader)), 8, train=True, coeffs_used=False)
    for seed in range(6):
        item = data[(seed % len(reader), seed)]
        assert item.hr.shape == (3, 32, 32) and item.priors.shape[1:] == (32, 32)
        brightness = item.hr.mean(dim=0).numpy()
        assert _correlation(brightness, item.priors[0].numpy()) > 0.95
    # shrinking shows more of the face in the same patch: coarser detail, more blobs per patch
    same = data[(0, 1)]
    other = plain[(0, 1)]
    assert not torch.equal(same.hr, other.hr)


def test_flip_mirrors_maps_and_coefficients(tmp_path: Path) -> None:
    from facesr_video.sr.mirror import CoefficientMirror

    reader = StoreReader(make_store(tmp_path / "s"))
    negate = CoefficientMirror(-np.eye(reader.layout.coeff_dim, dtype=np.float32))
    data = PatchDataset(reader, range(len(reader)), 8, train=True, mirror=negate)
    flipped = 0
    for seed in range(12):
        item = data[(0, seed)]
        stored = torch.from_numpy(np.asarray(reader[data.indices[0]].coeffs, np.float32))
        if torch.allclose(item.coeffs, -stored):
            flipped += 1
            assert _correlation(item.hr.mean(dim=0).numpy(), item.priors[0].numpy()) > 0.95
        else:
            assert torch.allclose(item.coeffs, stored)
    assert 2 <= flipped <= 10


def test_no_flip_when_coefficients_cannot_be_mirrored(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "s"))
    assert not PatchDataset(reader, range(len(reader)), 8, coeffs_used=True).can_flip
    assert PatchDataset(reader, range(len(reader)), 8, coeffs_used=False).can_flip


def test_no_prior_channels_with_shrunk_faces(store4: Path) -> None:
    """--priors none trains with scale augmentation (no maps to resize: an empty stack)."""
    reader = StoreReader(store4)
    dataset = PatchDataset(
        reader, [0, 1], 8, train=True, channels=[], augment=Augment(flip=False, scale=(0.5, 0.5))
    )
    item = dataset[(1, 3)]
    assert item.priors.shape == (0, 32, 32) and item.hr.shape == (3, 32, 32)
