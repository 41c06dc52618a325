"""Image, video and landmark metrics, as small pure torch functions.

Used by evaluate's scoring and by training's validation, so one PSNR/SSIM convention serves
both; training imports it from eval/, and nothing in eval/ imports training.

Images are float tensors (B, C, H, W) in [0, 1]; an optional mask (B, 1, H, W) in [0, 1] weights
the face region (soft masks allowed). Conventions, chosen to match how face SR papers report:

- PSNR is over all channels given (RGB by default), peak 1.0; identical inputs give +inf.
- SSIM follows Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), C1 = 0.01^2, C2 = 0.03^2,
  computed on luma Y = 0.299 R + 0.587 G + 0.114 B (full range, no 16-235 offset) by default, or
  per channel and averaged with ``luma=False``. The map is taken over the valid region only (no
  padding), so the mask is cropped by window // 2 on each side before the weighted mean.
- Flicker compares the output's frame-to-frame change with the reference's: a perfectly stable
  result that follows the real motion scores 0.
- Landmarks are (x, y) pixels in dlib's iBUG-68 order.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
LEFT_EYE_OUTER = 36  # iBUG-68: outer corner of the subject's right eye (image left)
RIGHT_EYE_OUTER = 45


def _check_pair(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> None:
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {a.shape} {b.shape}")
    if mask is not None and (
        mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != a.shape[-2:]
    ):
        raise ValueError(f"mask must be (B, 1, H, W) matching {tuple(a.shape)}, got {mask.shape}")


def rgb_to_luma(image: torch.Tensor) -> torch.Tensor:
    """Full-range BT.601 luma of RGB images.

    Args:
        image: (B, 3, H, W) RGB in [0, 1].

    Returns:
        (B, 1, H, W) luma in [0, 1].
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) RGB, got {tuple(image.shape)}")
    weights = image.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Per-sample mean of (B, C, H, W) values, weighted by (B, 1, H, W) weights; -> (B,)."""
    if weights is None:
        return values.flatten(1).mean(dim=1)
    weights = weights.to(values.dtype).expand_as(values)
    return (values * weights).flatten(1).sum(dim=1) / weights.flatten(1).sum(dim=1)


def mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per sample, over all channels and the (weighted) pixels.

    Args:
        a, b: (B, C, H, W) in [0, 1].
        mask: optional (B, 1, H, W) weights; an all-zero mask gives NaN for that sample.

    Returns:
        (B,) mean squared error.
    """
    _check_pair(a, b, mask)
    return _weighted_mean((a.double() - b.double()) ** 2, mask).to(a.dtype)


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB with peak 1.0; +inf where the inputs are identical.

    Args:
        a, b: (B, C, H, W) in [0, 1].
        mask: optional (B, 1, H, W) weights restricting the score to the face region.

    Returns:
        (B,) PSNR in dB.
    """
    error = mse(a, b, mask).double()
    return (10.0 * torch.log10(1.0 / error)).to(a.dtype)  # log10(1/0) = +inf


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised separable Gaussian kernel.

    Returns:
        (size,) float64 weights summing to 1.
    """
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    kernel = torch.exp(-(coords**2) / (2.0 * sigma**2))
    return kernel / kernel.sum()


def _blur_valid(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise separable Gaussian filter without padding: (B, C, H, W) -> (B, C, H-k+1, W-k+1)."""
    channels = x.shape[1]
    size = kernel.numel()
    horizontal = kernel.view(1, 1, 1, size).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, size, 1).repeat(channels, 1, 1, 1)
    x = F.conv2d(x, horizontal, groups=channels)
    return F.conv2d(x, vertical, groups=channels)


def ssim_map(
    a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """SSIM index at every position where the window fits inside the image.

    Args:
        a, b: (B, C, H, W) in [0, 1], H and W at least ``window``.

    Returns:
        (B, C, H - window + 1, W - window + 1) SSIM values in [-1, 1].
    """
    _check_pair(a, b, None)
    if min(a.shape[-2:]) < window:
        raise ValueError(f"images {tuple(a.shape[-2:])} are smaller than the {window}px window")
    # float32 is accurate enough for local moments of [0, 1] data and far faster than float64
    # on a CPU; the five moment images go through one grouped convolution.
    # Centring on 0.5 keeps the E[x^2] - E[x]^2 cancellation small.
    x, y = a.float() - 0.5, b.float() - 0.5
    kernel = gaussian_window(window, sigma).to(device=a.device, dtype=torch.float32)
    moments = _blur_valid(torch.cat([x, y, x * x, y * y, x * y], dim=1), kernel)
    mu_x, mu_y, xx, yy, xy = moments.chunk(5, dim=1)
    var_x = xx - mu_x**2
    var_y = yy - mu_y**2
    cov = xy - mu_x * mu_y
    mu_x, mu_y = mu_x + 0.5, mu_y + 0.5
    numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
    denominator = (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    return (numerator / denominator).to(a.dtype)


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    mask: torch.Tensor | None = None,
    window: int = 11,
    sigma: float = 1.5,
    luma: bool = True,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004); 1 for identical images.

    Args:
        a, b: (B, C, H, W) in [0, 1]; with ``luma`` and C == 3 they are compared on luma Y,
            otherwise per channel and the channels averaged.
        mask: optional (B, 1, H, W) weights; the SSIM map is averaged with the mask cropped by
            window // 2 on every side (the map covers only positions where the window fits).
        window, sigma: Gaussian window size (odd) and standard deviation in pixels.

    Returns:
        (B,) mean SSIM.
    """
    _check_pair(a, b, mask)
    if window % 2 != 1:
        raise ValueError(f"window must be odd, got {window}")
    if luma and a.shape[1] == 3:
        a, b = rgb_to_luma(a), rgb_to_luma(b)
    values = ssim_map(a, b, window, sigma)
    if mask is not None:
        half = window // 2
        mask = mask[..., half : mask.shape[-2] - half, half : mask.shape[-1] - half]
    return _weighted_mean(values, mask)


def temporal_flicker_series(
    outputs: torch.Tensor, references: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-transition flicker: mean |(O_t - O_t-1) - (H_t - H_t-1)| for t = 1 .. T-1.

    Args:
        outputs: (T, C, H, W) the method's frames (face crops) in [0, 1].
        references: (T, C, H, W) the original frames at the same places.
        mask: optional (T, 1, H, W) or (1, 1, H, W) weights; transition t is weighted by
            mask_t * mask_t-1 so a pixel counts only where both frames hold the face.

    Returns:
        (T-1,) mean absolute difference of temporal changes, in intensity units ([0, 1] scale).
    """
    _check_pair(outputs, references, None)
    if outputs.shape[0] < 2:
        return outputs.new_zeros(0)
    change = (outputs[1:] - outputs[:-1]).double() - (references[1:] - references[:-1]).double()
    weights = None
    if mask is not None:
        if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != outputs.shape[-2:]:
            raise ValueError(f"mask must be (T|1, 1, H, W), got {tuple(mask.shape)}")
        mask = mask.expand(outputs.shape[0], -1, -1, -1).double()
        weights = mask[1:] * mask[:-1]
    return _weighted_mean(change.abs(), weights).to(outputs.dtype)


def temporal_flicker(
    outputs: torch.Tensor, references: torch.Tensor, mask: torch.Tensor | None = None
) -> float:
    """Mean |(O_t - O_t-1) - (H_t - H_t-1)| over all transitions and (weighted) pixels.

    Args:
        outputs, references: (T, C, H, W) in [0, 1]; mask: optional (T, 1, H, W) or (1, 1, H, W).

    Returns:
        The flicker in [0, 1] intensity units (x255 for 8-bit levels); NaN when T < 2.
    """
    series = temporal_flicker_series(outputs, references, mask)
    if series.numel() == 0:
        return math.nan
    if mask is None:
        return float(series.double().mean())
    mask = mask.expand(outputs.shape[0], -1, -1, -1).double()
    weights = (mask[1:] * mask[:-1]).flatten(1).sum(dim=1) * outputs.shape[1]
    return float((series.double() * weights).sum() / weights.sum())


def interocular_distance(landmarks: torch.Tensor) -> torch.Tensor:
    """Distance between the outer eye corners (points 36 and 45).

    Args:
        landmarks: (N, 68, 2) points (x, y) in pixels.

    Returns:
        (N,) distances in pixels.
    """
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise ValueError(f"expected (N, 68, 2) landmarks, got {tuple(landmarks.shape)}")
    return (landmarks[:, RIGHT_EYE_OUTER] - landmarks[:, LEFT_EYE_OUTER]).norm(dim=-1)


def landmark_error(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Mean point-to-point distance normalised by the reference's inter-ocular distance (NME).

    Args:
        pred: (N, 68, 2) landmarks found on the method's output.
        ref: (N, 68, 2) landmarks found on the original, in the same pixel frame.

    Returns:
        (N,) normalised mean error (0.05 = 5 % of the outer-eye-corner distance).
    """
    if pred.shape != ref.shape:
        raise ValueError(f"landmark shapes differ: {tuple(pred.shape)} {tuple(ref.shape)}")
    distance = (pred.double() - ref.double()).norm(dim=-1).mean(dim=-1)
    return (distance / interocular_distance(ref.double())).to(pred.dtype)


def landmark_jitter(tracks: torch.Tensor) -> float:
    """Mean norm of the frame-to-frame acceleration x_t+1 - 2 x_t + x_t-1 of landmark tracks.

    Smooth motion (still or constant velocity) scores 0; per-frame noise of standard deviation s
    per coordinate scores about 2.17 s (the norm of a 2-D Gaussian of variance 6 s^2).

    Args:
        tracks: (T, 68, 2) landmarks of one face over consecutive frames, pixels.

    Returns:
        Jitter in pixels per frame^2; NaN when T < 3.
    """
    if tracks.ndim != 3 or tracks.shape[-1] != 2:
        raise ValueError(f"expected (T, P, 2) tracks, got {tuple(tracks.shape)}")
    if tracks.shape[0] < 3:
        return math.nan
    points = tracks.double()
    acceleration = points[2:] - 2 * points[1:-1] + points[:-2]
    return float(acceleration.norm(dim=-1).mean())
