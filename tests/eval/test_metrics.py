"""Known values of the evaluation metrics on synthetic images, sequences and landmarks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facesr_video.eval.metrics import (
    gaussian_window,
    landmark_error,
    landmark_jitter,
    mse,
    psnr,
    rgb_to_luma,
    ssim,
    ssim_map,
    temporal_flicker,
    temporal_flicker_series,
)


def _images(batch: int = 2, size: int = 32, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=generator)


def _face_like_landmarks(n: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    points = torch.rand(n, 68, 2, generator=generator) * 40 + 20
    points[:, 36] = torch.tensor([20.0, 30.0])
    points[:, 45] = torch.tensor([60.0, 30.0])  # inter-ocular distance 40 px
    return points


def test_psnr_identical_is_infinite() -> None:
    a = _images()
    assert torch.isinf(psnr(a, a.clone())).all()


def test_psnr_constant_offset_closed_form() -> None:
    a = _images() * 0.8
    offset = 0.05
    expected = 10 * math.log10(1 / offset**2)  # 26.02 dB
    result = psnr(a, a + offset)
    assert result.shape == (2,)
    assert torch.allclose(result, torch.full((2,), expected), atol=1e-3)


def test_psnr_mask_ignores_outside_region() -> None:
    a = torch.zeros(1, 3, 16, 16)
    b = a.clone()
    b[..., :, 8:] = 1.0  # right half wrong
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., :, :8] = 1.0
    assert torch.isinf(psnr(a, b, mask)).all()
    assert psnr(a, b).item() == pytest.approx(10 * math.log10(2), abs=1e-4)  # MSE 0.5


def test_psnr_soft_mask_weights_errors() -> None:
    a = torch.zeros(1, 1, 1, 2)
    b = torch.tensor([[[[0.1, 0.3]]]])
    mask = torch.tensor([[[[3.0, 1.0]]]])
    expected_mse = (3 * 0.01 + 1 * 0.09) / 4
    assert mse(a, b, mask).item() == pytest.approx(expected_mse, rel=1e-5)


def test_psnr_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_gaussian_window_normalised_and_symmetric() -> None:
    kernel = gaussian_window(11, 1.5)
    assert kernel.shape == (11,)
    assert kernel.sum().item() == pytest.approx(1.0)
    assert torch.allclose(kernel, kernel.flip(0))
    assert kernel.argmax().item() == 5


def test_ssim_identical_is_one() -> None:
    a = _images()
    assert torch.allclose(ssim(a, a.clone()), torch.ones(2), atol=1e-6)
    assert torch.allclose(ssim(a, a.clone(), luma=False), torch.ones(2), atol=1e-6)


def test_ssim_negative_is_low_and_noise_lowers_it() -> None:
    a = _images(size=48)
    negative = ssim(a, 1 - a, luma=False)
    assert (negative < 0).all()
    noisy = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    slightly = ssim(a, noisy)
    assert (slightly < 1).all() and (slightly > negative).all()


def test_ssim_map_shape_is_valid_region() -> None:
    a = _images(batch=1, size=40)
    assert ssim_map(a, a, window=11).shape == (1, 3, 30, 30)
    with pytest.raises(ValueError):
        ssim(a[..., :8, :8], a[..., :8, :8])


def test_ssim_constant_images_known_value() -> None:
    # Constant images: variances and covariance vanish, SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1)
    a = torch.full((1, 1, 16, 16), 0.4)
    b = torch.full((1, 1, 16, 16), 0.6)
    c1 = 0.01**2
    expected = (2 * 0.4 * 0.6 + c1) / (0.4**2 + 0.6**2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, rel=1e-5)


def test_ssim_mask_selects_region() -> None:
    a = _images(batch=1, size=48)
    b = a.clone()
    b[..., :, 24:] = 1 - b[..., :, 24:]
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., :, :12] = 1.0  # far from the damaged half even after the window
    assert ssim(a, b, mask).item() == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, b).item() < 0.8


def test_rgb_to_luma_weights() -> None:
    image = torch.zeros(1, 3, 2, 2)
    image[:, 1] = 1.0
    assert torch.allclose(rgb_to_luma(image), torch.full((1, 1, 2, 2), 0.587))


def test_flicker_of_identical_sequences_is_zero() -> None:
    frames = _images(batch=5)
    assert temporal_flicker(frames, frames.clone()) == 0.0


def test_flicker_ignores_real_motion_but_measures_added_flicker() -> None:
    references = _images(batch=6)  # content changes every frame (real motion)
    amplitude = 0.04
    steps = torch.tensor([t % 2 for t in range(6)], dtype=torch.float32).view(6, 1, 1, 1)
    outputs = references + amplitude * steps  # brightens every other frame
    assert temporal_flicker(outputs, references) == pytest.approx(amplitude, rel=1e-5)
    series = temporal_flicker_series(outputs, references)
    assert series.shape == (5,)
    assert torch.allclose(series, torch.full((5,), amplitude), rtol=1e-5)


def test_flicker_constant_bias_is_not_flicker() -> None:
    references = _images(batch=4)
    assert temporal_flicker(references + 0.1, references) == pytest.approx(0.0, abs=1e-6)


def test_flicker_mask_restricts_to_face() -> None:
    references = torch.zeros(3, 3, 8, 8)
    outputs = references.clone()
    outputs[1, :, :, 4:] = 0.5  # flicker only on the right half
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1.0
    assert temporal_flicker(outputs, references, mask) == 0.0
    assert temporal_flicker(outputs, references) == pytest.approx(0.25)


def test_flicker_needs_two_frames() -> None:
    assert math.isnan(temporal_flicker(_images(batch=1), _images(batch=1)))


def test_landmark_error_known_offset() -> None:
    ref = _face_like_landmarks(n=3)
    pred = ref + torch.tensor([3.0, 4.0])  # 5 px everywhere, inter-ocular 40 px
    error = landmark_error(pred, ref)
    assert error.shape == (3,)
    assert torch.allclose(error, torch.full((3,), 5 / 40))
    assert torch.allclose(landmark_error(ref, ref), torch.zeros(3))


def test_landmark_error_scale_invariant() -> None:
    ref = _face_like_landmarks()
    pred = ref + 2.0
    assert torch.allclose(landmark_error(pred * 3, ref * 3), landmark_error(pred, ref))


def test_jitter_zero_for_constant_velocity() -> None:
    base = _face_like_landmarks()[0]
    tracks = torch.stack([base + t * torch.tensor([1.5, -0.5]) for t in range(10)])
    assert landmark_jitter(tracks) == pytest.approx(0.0, abs=1e-5)


def test_jitter_known_alternation() -> None:
    base = _face_like_landmarks()[0]
    shift = torch.tensor([1.0, 0.0])
    tracks = torch.stack([base + (t % 2) * shift for t in range(8)])
    # acceleration at every interior frame is +-2 px in x
    assert landmark_jitter(tracks) == pytest.approx(2.0)
    assert math.isnan(landmark_jitter(tracks[:2]))


def _ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Independent float64 SSIM (scipy filtering, valid region) of two (H, W) images."""
    from scipy.ndimage import correlate

    coords = np.arange(11) - 5.0
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    kernel = np.outer(g, g) / np.outer(g, g).sum()

    def blur(x: np.ndarray) -> np.ndarray:
        return correlate(x, kernel, mode="constant")[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    ssim_values = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_values.mean())


def test_ssim_matches_independent_float64_reference() -> None:
    a = _images(batch=1, size=40, seed=3)
    b = (a + 0.08 * torch.randn(a.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    luma_a = rgb_to_luma(a)[0, 0].double().numpy()
    luma_b = rgb_to_luma(b)[0, 0].double().numpy()
    assert ssim(a, b).item() == pytest.approx(_ssim_reference(luma_a, luma_b), abs=1e-5)
