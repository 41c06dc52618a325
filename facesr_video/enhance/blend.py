"""Blending a super-resolved face crop back into the upscaled frame.

Three small tensor functions: a feathered mask built from the render's coverage (so the seam
follows the 3D face, stable over time and pose aware), a colour match that takes the crop's low
frequencies from the plain upscale (so the face never changes tone against its surroundings;
used on clean input only, since a coded crop's colours carry the codec's errors), and the fade
weight per face that moves unreliable faces toward the plain path gradually.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from facesr_video.sr.bilinear import upscale_bilinear


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding.

    image: (B, C, H, W) float. Returns (B, C, H, W). sigma in pixels; <= 0 returns the input.
    Each pass is one matrix product with a banded (n, n) matrix that holds the truncated kernel
    and the reflected border: the same sums as a padded convolution, several times faster on
    CPU for the wide kernels the colour match uses.
    """
    if sigma <= 0:
        return image
    height, width = image.shape[-2:]
    radius = max(1, int(math.ceil(3.0 * sigma)))
    radius = min(radius, width - 1, height - 1)
    rows = _blur_matrix(height, float(sigma), radius, image.dtype, image.device)
    columns = _blur_matrix(width, float(sigma), radius, image.dtype, image.device)
    return torch.matmul(rows, torch.matmul(image, columns.T))


@functools.lru_cache(maxsize=32)
def _blur_matrix(
    size: int, sigma: float, radius: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """(size, size): row i holds the normalised Gaussian taps i-radius..i+radius, each added to
    the column it reads after reflecting at the borders (..., 2, 1, [0, 1, ..., n-1], n-2, ...)."""
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps /= taps.sum()
    matrix = np.zeros((size, size), np.float64)
    for i in range(size):
        read = np.abs(i + offsets)
        read = np.where(read > size - 1, 2 * (size - 1) - read, read)
        np.add.at(matrix[i], read, taps)
    return torch.as_tensor(matrix, dtype=dtype, device=device)


def feathered_mask(coverage: torch.Tensor, feather: float = 0.06) -> torch.Tensor:
    """Soft paste mask from the render's coverage.

    coverage: (B, 1, H, W) in [0, 1] (1 where the face mesh covers the pixel).
    feather: width of the soft edge as a fraction of the crop size.
    Returns (B, 1, H, W) in [0, 1]: the coverage shrunk by about one feather width and blurred,
    times a ramp to zero at the crop border, so no crop edge can ever show.
    """
    size = min(coverage.shape[-2:])
    sigma = max(0.5, feather * size / 2.0)
    # Erode by blurring and thresholding high, then blur again for the soft edge.
    shrunk = (gaussian_blur(coverage, sigma) > 0.9).to(coverage.dtype)
    soft = gaussian_blur(shrunk, sigma)
    return soft * border_ramp(coverage.shape[-2], coverage.shape[-1], feather, coverage)


def border_ramp(
    height: int, width: int, feather: float, like: torch.Tensor | None = None
) -> torch.Tensor:
    """(1, 1, H, W) weight: 1 inside, falling linearly to 0 at the crop border."""
    device = like.device if like is not None else None
    dtype = like.dtype if like is not None else torch.float32
    ramp_px = max(1.0, feather * min(height, width))

    def axis(n: int) -> torch.Tensor:
        index = torch.arange(n, device=device, dtype=dtype)
        distance = torch.minimum(index + 0.5, n - 0.5 - index)
        return (distance / ramp_px).clamp(0.0, 1.0)

    return (axis(height)[:, None] * axis(width)[None, :]).view(1, 1, height, width)


def match_colour(
    face: torch.Tensor,
    reference: torch.Tensor,
    mask: torch.Tensor,
    scale: int = 1,
    sigma_fraction: float = 0.08,
) -> torch.Tensor:
    """Give `face` the low-frequency colour of `reference` (the same crop before SR).

    face: (B, 3, S*h, S*w) float in [0, 1]; reference: (B, 3, h, w), the low-resolution crop
    (S = `scale`; 1 when both are the same size); mask: (B, 1, h, w) where the face counts.
    The mask-weighted low-pass difference (reference - face) is added back, so skin tone and
    shading follow the background while the network's detail is kept. The low-pass runs at the
    reference's resolution (S^2 fewer pixels, S times narrower kernel), then is upsampled.
    Returns (B, 3, S*h, S*w).
    """
    face_low = F.avg_pool2d(face, scale) if scale > 1 else face
    sigma = max(1.0, sigma_fraction * min(reference.shape[-2:]))
    weight = gaussian_blur(mask, sigma).clamp_min(1e-4)
    low_difference = gaussian_blur((reference - face_low) * mask, sigma) / weight
    low_difference = low_difference * (mask > 0).to(face.dtype)
    if scale > 1:
        low_difference = upscale_bilinear(low_difference, scale)
    return low_difference.add_(face).clamp_(0.0, 1.0)  # made here: in place


class FadeWeight:
    """Per-track blend weight that moves toward its target by at most `step` per frame.

    A face whose fit becomes unreliable (or whose track ends) fades to the plain path over
    1/step frames instead of popping; a new face fades in the same way.
    """

    def __init__(self, frames_to_full: int = 6, start: float = 0.0) -> None:
        self.step = 1.0 / max(1, frames_to_full)
        self.value = start

    def update(self, target: float) -> float:
        target = min(1.0, max(0.0, target))
        if target > self.value:
            self.value = min(target, self.value + self.step)
        else:
            self.value = max(target, self.value - self.step)
        return self.value
