"""The documented evaluate degradation: shapes, cropping, antialiasing."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.dataset.degrade.bicubic import (
    crop_to_multiple,
    downscale,
    upscale_bicubic,
    upscale_nearest,
)


def _gradient(height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 200 // width, ys * 200 // height, (xs + ys) % 50], axis=-1).astype(
        np.uint8
    )


@pytest.mark.parametrize("scale", [4, 8])
def test_shapes_and_crop_to_multiple(scale: int) -> None:
    frame = _gradient(290, 365)
    cropped = crop_to_multiple(frame, scale)
    assert cropped.shape == (290 - 290 % scale, 365 - 365 % scale, 3)
    assert np.shares_memory(cropped, frame)
    assert np.array_equal(cropped, frame[: cropped.shape[0], : cropped.shape[1]])
    small = downscale(frame, scale)
    assert small.shape == (290 // scale, 365 // scale, 3)
    assert small.dtype == np.uint8


def test_constant_frame_stays_constant() -> None:
    frame = np.full((64, 48, 3), (10, 120, 240), dtype=np.uint8)
    assert np.array_equal(downscale(frame, 4), np.full((16, 12, 3), (10, 120, 240), np.uint8))


def test_antialiased_checkerboard_becomes_grey() -> None:
    ys, xs = np.mgrid[0:64, 0:64]
    board = (((xs + ys) % 2) * 255).astype(np.uint8)
    frame = np.repeat(board[..., None], 3, axis=-1)
    small = downscale(frame, 4).astype(np.float64)
    # a point sampler would give pure black or white; the widened bicubic kernel averages
    interior = small[2:-2, 2:-2]
    assert np.abs(interior - 127.5).max() < 3


def test_crop_keeps_only_whole_blocks() -> None:
    frame = _gradient(35, 35)
    frame[32:, :] = 255  # rows dropped by the crop must not reach the output
    frame[:, 32:] = 255
    assert np.array_equal(downscale(frame, 8), downscale(frame[:32, :32].copy(), 8))


def test_smooth_frame_round_trips_closely() -> None:
    ys, xs = np.mgrid[0:128, 0:128]
    smooth = (127 + 100 * np.sin(xs / 20.0) * np.cos(ys / 25.0)).astype(np.uint8)
    frame = np.repeat(smooth[..., None], 3, axis=-1)
    restored = upscale_bicubic(downscale(frame, 4), 4)
    assert restored.shape == frame.shape
    interior = (slice(8, -8), slice(8, -8))
    assert np.abs(restored[interior].astype(int) - frame[interior].astype(int)).mean() < 2.0


def test_nearest_upscale_repeats_pixels() -> None:
    small = _gradient(5, 7)
    big = upscale_nearest(small, 4)
    assert big.shape == (20, 28, 3)
    assert np.array_equal(big[::4, ::4], small)
    assert np.array_equal(big[3::4, 3::4], small)


def test_rejects_wrong_layout() -> None:
    with pytest.raises(ValueError):
        downscale(np.zeros((3, 32, 32), dtype=np.uint8), 4)
    with pytest.raises(ValueError):
        downscale(np.zeros((32, 32, 3), dtype=np.float32), 4)
