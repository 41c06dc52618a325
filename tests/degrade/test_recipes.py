"""Degradation: shapes, determinism by seed, and it stays close to a clean downscale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facesr_video.degrade.recipes import DegradeConfig, degrade
from tests.sr.conftest import synthetic_sample


def _hr(scale: int) -> np.ndarray:
    return synthetic_sample(np.random.default_rng(0), "a", 0, 0, 24, scale).hr


@pytest.mark.parametrize("scale", [4, 8])
def test_shape_and_dtype(scale: int) -> None:
    lr = degrade(_hr(scale), scale, 5)
    assert lr.shape == (24, 24, 3) and lr.dtype == np.uint8


def test_same_seed_same_result_other_seed_differs() -> None:
    hr = _hr(4)
    assert np.array_equal(degrade(hr, 4, 7), degrade(hr, 4, 7))
    assert not np.array_equal(degrade(hr, 4, 7), degrade(hr, 4, 8))


def test_close_to_a_clean_downscale_but_not_equal() -> None:
    hr = _hr(4)
    clean = np.asarray(Image.fromarray(hr).resize((24, 24), Image.Resampling.BICUBIC), np.float32)
    lr = degrade(hr, 4, 3).astype(np.float32)
    mse = np.mean((lr - clean) ** 2)
    assert mse > 0
    assert 10 * np.log10(255**2 / mse) > 20  # degraded, still the same picture


def test_mild_config_is_nearly_clean() -> None:
    hr = _hr(4)
    mild = DegradeConfig(blur_sigma=(0.0, 0.0), noise_sigma=(0.0, 0.0), jpeg_probability=0.0)
    clean = np.asarray(Image.fromarray(hr).resize((24, 24), Image.Resampling.BICUBIC))
    assert np.abs(degrade(hr, 4, 0, mild).astype(int) - clean.astype(int)).max() <= 1


def test_rejects_sizes_not_divisible_by_scale() -> None:
    with pytest.raises(ValueError):
        degrade(np.zeros((30, 32, 3), np.uint8), 4, 0)
