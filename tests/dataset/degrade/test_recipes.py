"""Degradation: shapes, determinism by seed, and it stays close to a clean downscale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from facesr_video.dataset.degrade.recipes import DegradeConfig, degrade
from tests.dataset.conftest import synthetic_sample


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


def test_a_clip_codes_later_frames_as_predicted_pictures() -> None:
    """The last frame of a coded clip is not what coding it alone gives (it is predicted from
    the frames before it); the same draws and seed give the same clip."""
    from facesr_video.dataset.degrade.recipes import DegradeDraw, degrade_clip

    hr = synthetic_sample(np.random.default_rng(2), "a", 0, 0, 48, 4).hr
    frames = [np.roll(hr, 4 * step, axis=1) for step in (2, 1, 0)]
    draw = DegradeDraw(blur_sigma=0.0, noise_sigma=0.0, codec="h264", crf=30, jpeg_quality=90)
    clip = degrade_clip(frames, 4, draw, np.random.default_rng(0))
    alone = degrade_clip(frames[-1:], 4, draw, np.random.default_rng(0))[0]
    assert len(clip) == 3 and clip[-1].shape == alone.shape == (48, 48, 3)
    assert not np.array_equal(clip[-1], alone)
    again = degrade_clip(frames, 4, draw, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(clip, again, strict=True))
    clean = degrade_clip(frames[-1:], 4, replace(draw, codec="none"), np.random.default_rng(0))[0]
    assert np.mean(np.abs(clip[-1].astype(int) - clean.astype(int))) < 6  # same picture


def test_one_draw_per_clip_fresh_noise_per_frame() -> None:
    from facesr_video.dataset.degrade.recipes import DegradeDraw, degrade_clip

    hr = _hr(4)
    draw = DegradeDraw(blur_sigma=2.0, noise_sigma=4.0, codec="none", crf=23, jpeg_quality=90)
    first, second = degrade_clip([hr, hr], 4, draw, np.random.default_rng(1))
    noise = first.astype(int) - second.astype(int)
    assert noise.std() > 2  # fresh noise
    assert abs(noise.mean()) < 0.5  # same blur: the same picture underneath
