"""sr/bilinear.py: a bilinear upscale seen per low-resolution pixel, against F.interpolate."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from facesr_video.sr.bilinear import (
    fold_unshuffled_linear,
    phase_weights,
    upscale_bilinear,
    upscaled_block_mean,
)


def _upscaled(x: torch.Tensor, scale: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_phase_weights_are_convex_and_symmetric(scale: int) -> None:
    weights = phase_weights(scale)
    torch.testing.assert_close(weights.sum(1), torch.ones(scale, dtype=torch.float64))
    assert (weights >= 0).all()
    torch.testing.assert_close(weights, weights.flip(0).flip(1))  # mirrored phases


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_folded_layer_equals_upscale_unshuffle_and_1x1(scale: int) -> None:
    """Borders included: the folded 3x3 reads replicated edges where interpolate clamps."""
    torch.manual_seed(scale)
    x = torch.rand(2, 5, 11, 9)
    weight = torch.randn(7, 5 * scale * scale, 1, 1)
    expected = F.conv2d(F.pixel_unshuffle(_upscaled(x, scale), scale), weight)
    kernel = fold_unshuffled_linear(weight, 5, scale)
    assert kernel.shape == (7, 5, 3, 3)
    got = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_block_mean_of_the_upscale_is_made_at_input_size(scale: int) -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 1, 12, 10)
    expected = F.avg_pool2d(_upscaled(x, scale), scale)
    torch.testing.assert_close(upscaled_block_mean(x, scale), expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_upscale_bilinear_is_interpolate_one_channel_at_a_time(scale: int) -> None:
    x = torch.rand(2, 3, 9, 13).contiguous(memory_format=torch.channels_last)
    out = upscale_bilinear(x, scale)
    assert out.shape == (2, 3, 9 * scale, 13 * scale)
    torch.testing.assert_close(out, _upscaled(x, scale), rtol=0, atol=1e-6)
