"""Patch dataset and step sampler: aligned patches, determinism, rank split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.dataset.patches import Augment, PatchDataset, StepBatchSampler
from facesr_video.dataset.store import StoreReader
from tests.dataset.conftest import make_store


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
    from facesr_video.dataset.mirror import CoefficientMirror

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


def _misfit(lr: torch.Tensor, hr: torch.Tensor, shift: int) -> float:
    """Mean brightness error of lr against the clean downscale of hr moved by `shift` LR px
    (inner part; brightness, as 4:2:0 chroma loses the synthetic blobs' saturated colours)."""
    image = (hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    side = image.shape[0] // 4
    clean = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), float)
    luma = np.array([0.299, 0.587, 0.114])  # what 4:2:0 keeps at full resolution
    low = lr.permute(1, 2, 0).numpy() @ luma * 255
    inner = slice(2, side - 2)
    moved = np.roll(clean @ luma, shift, axis=1)
    return float(np.abs(low[inner, inner] - moved[inner, inner]).mean())


@pytest.mark.parametrize("scale_range", [(1.0, 1.0), (0.5, 0.7)])
def test_clip_coded_patches_stay_aligned_with_their_targets(
    tmp_path: Path, scale_range: tuple[float, float]
) -> None:
    """The `h264` recipe codes each patch inside a bigger moving clip; what comes back must be
    the patch's own picture (not the clip's first frame, not off by a pixel), whole windows and
    shrunk ones alike."""
    from facesr_video.dataset.degrade.recipes import DEGRADATIONS

    # Nearly lossless coding keeps the brightness, so any misplacement shows.
    nearly_lossless = replace(DEGRADATIONS["h264"], h264_crf=(1, 1))
    reader = StoreReader(make_store(tmp_path / "s", lr_sizes=(48,)))
    augment = Augment(flip=False, scale=scale_range, min_face=4.0)
    coded = PatchDataset(
        reader,
        range(len(reader)),
        16,
        degrade_config=nearly_lossless,
        augment=augment,
        coeffs_used=False,
    )
    assert coded.degrade_config.h264_frames > 1 and coded.degrade_config.h264_context > 0
    aligned, moved = [], []
    for seed in range(8):
        item = coded[(seed % len(reader), seed)]
        assert item.lr.shape == (3, 16, 16) and item.hr.shape == (3, 64, 64)
        aligned.append(_misfit(item.lr, item.hr, 0))
        moved.append(min(_misfit(item.lr, item.hr, s) for s in (-1, 1)))
        assert _correlation(item.hr.mean(dim=0).numpy(), item.priors[0].numpy()) > 0.95
    assert max(aligned) < 2.5  # the codec's own loss
    assert np.mean(aligned) < 0.6 * np.mean(moved)  # one LR px off costs more than the codec
