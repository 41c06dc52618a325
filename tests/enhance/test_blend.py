import math

import pytest
import torch
import torch.nn.functional as F

from facesr_video.enhance.blend import (
    FadeWeight,
    border_ramp,
    feathered_mask,
    gaussian_blur,
    match_colour,
)


def test_gaussian_blur_keeps_constants_and_mass():
    constant = torch.full((2, 3, 32, 40), 0.25)
    assert torch.allclose(gaussian_blur(constant, 2.0), constant, atol=1e-6)
    impulse = torch.zeros(1, 1, 31, 31)
    impulse[0, 0, 15, 15] = 1.0
    blurred = gaussian_blur(impulse, 1.5)
    assert abs(blurred.sum().item() - 1.0) < 1e-4
    assert blurred[0, 0, 15, 15] < 0.2


def _blur_by_convolution(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Reference: the truncated kernel as two reflect-padded depthwise convolutions."""
    radius = min(max(1, math.ceil(3.0 * sigma)), image.shape[-1] - 1, image.shape[-2] - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = image.shape[1]
    out = F.pad(image, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


@pytest.mark.parametrize(
    ("shape", "sigma"), [((1, 3, 64, 64), 5.1), ((2, 1, 20, 33), 2.0), ((1, 3, 6, 9), 4.0)]
)
def test_gaussian_blur_sums_as_a_reflect_padded_convolution(shape, sigma):
    image = torch.rand(shape)
    torch.testing.assert_close(
        gaussian_blur(image, sigma), _blur_by_convolution(image, sigma), rtol=0, atol=1e-5
    )


def test_feathered_mask_is_soft_inside_coverage_and_zero_at_border():
    coverage = torch.zeros(1, 1, 64, 64)
    coverage[..., 8:56, 8:56] = 1.0
    mask = feathered_mask(coverage)
    assert mask.shape == coverage.shape
    assert mask[0, 0, 32, 32] > 0.99
    assert mask[0, 0, 2, 32] == 0.0  # outside coverage
    assert torch.all(mask[..., 0, :] == 0) and torch.all(mask[..., :, -1] == 0)
    # A soft edge: some values strictly between 0 and 1.
    assert ((mask > 0.05) & (mask < 0.95)).any()


def test_border_ramp_symmetric():
    ramp = border_ramp(10, 10, 0.2)
    assert torch.allclose(ramp, ramp.flip(-1)) and torch.allclose(ramp, ramp.flip(-2))
    assert ramp[0, 0, 5, 5] == 1.0


def test_match_colour_removes_a_tint_but_keeps_detail():
    torch.manual_seed(0)
    reference = torch.rand(1, 3, 48, 48) * 0.5 + 0.25
    detail = torch.randn(1, 3, 48, 48) * 0.02
    face = (reference + detail + torch.tensor([0.1, -0.05, 0.0]).view(1, 3, 1, 1)).clamp(0, 1)
    mask = torch.ones(1, 1, 48, 48)
    matched = match_colour(face, reference, mask)
    tint_before = (face - reference).mean(dim=(2, 3)).abs().max()
    tint_after = (matched - reference).mean(dim=(2, 3)).abs().max()
    assert tint_after < 0.2 * tint_before
    # High-frequency detail survives.
    assert (matched - gaussian_blur(matched, 3.0)).std() > 0.5 * detail.std()


def test_fade_weight_ramps_instead_of_popping():
    fade = FadeWeight(frames_to_full=4)
    values = [fade.update(1.0) for _ in range(6)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0] and values[-1] == 1.0
    assert fade.update(0.0) == 0.75


def test_match_colour_at_low_resolution_follows_the_low_resolution_crop():
    torch.manual_seed(1)
    low = torch.rand(1, 3, 16, 16) * 0.4 + 0.3
    face = torch.nn.functional.interpolate(low, scale_factor=4, mode="bicubic").clamp(0, 1)
    tinted = (face + torch.tensor([0.0, 0.08, -0.06]).view(1, 3, 1, 1)).clamp(0, 1)
    matched = match_colour(tinted, low, torch.ones(1, 1, 16, 16), scale=4)
    assert matched.shape == face.shape
    assert (matched - face).mean(dim=(2, 3)).abs().max() < 0.015


def test_fade_weight_can_start_at_full_weight():
    fade = FadeWeight(frames_to_full=4, start=1.0)
    assert fade.update(1.0) == 1.0
