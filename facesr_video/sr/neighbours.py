"""Neighbouring frames as network inputs: sample them where the motion says, gate what disagrees.

Both `train` and `enhance` go through these two functions, so the network sees neighbours prepared
the same way in both. Positions are pixel coordinates (centres at integers, x right, y down) in the
neighbour's own low-resolution image; the warped neighbour is read there bilinearly.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

REGISTRATIONS = ("mesh", "box")
"""mesh: per-pixel motion of the fitted 3D face (outside it, the box); box: the face boxes'
similarity transform alone (the ablation baseline)."""

# A warped neighbour that differs from the current crop by more than this (mean absolute
# difference over a 5x5 neighbourhood, [0, 1] units) is not trusted there at all; half of it halves
# the trust. Clean re-sampling of the same face differs by ~0.01-0.03; a scene cut or a wrong
# registration by 0.1 and more.
DIFFERENCE_LIMIT = 0.12
# A neighbour whose trusted pixels differ from the crop by more than this on average is another
# shot or a failed registration: dropped whole, fading out from the lower bound. Registered
# neighbours in one shot measured 0.007-0.02 (White House, x4); across a cut 0.08-0.2.
WHOLE_DIFFERENCE = (0.04, 0.08)


class NeighbourInputs(NamedTuple):
    """warped (B, N, 3, h, w) in [0, 1], confidence (B, N, 1, h, w) in [0, 1]."""

    warped: torch.Tensor
    confidence: torch.Tensor


def sample_pixels(image: torch.Tensor, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Read images (B, C, H, W) bilinearly at pixel positions xy (B, h, w, 2).

    Returns the values (B, C, h, w) and `inside` (B, 1, h, w): 1 where the position lies within
    the image's pixel centres (outside, the border is repeated and `inside` is 0).
    """
    if image.ndim != 4 or xy.ndim != 4 or xy.shape[-1] != 2 or xy.shape[0] != image.shape[0]:
        raise ValueError(
            f"need image (B, C, H, W) and xy (B, h, w, 2), got {image.shape}, {xy.shape}"
        )
    height, width = image.shape[-2:]
    grid = torch.empty_like(xy)
    grid[..., 0] = (2.0 * xy[..., 0] + 1.0) / width - 1.0
    grid[..., 1] = (2.0 * xy[..., 1] + 1.0) / height - 1.0
    values = F.grid_sample(
        image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    x, y = xy[..., 0], xy[..., 1]
    inside = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
    return values, inside[:, None].to(image.dtype)


def gate_by_difference(
    current: torch.Tensor, warped: torch.Tensor, confidence: torch.Tensor
) -> torch.Tensor:
    """Lower the confidence where a warped neighbour disagrees with the current crop.

    current (B, 3, h, w), warped (B, N, 3, h, w), confidence (B, N, 1, h, w) -> same shape as
    confidence. What the motion got wrong (a cut, a hand, a bad fit) becomes untrusted instead of
    a ghost, pixel by pixel and, past `WHOLE_DIFFERENCE`, for the whole neighbour; small
    differences, which carry the new detail, pass.
    """
    batch, count, _, height, width = warped.shape
    difference = (warped - current[:, None]).abs().mean(2, keepdim=True)
    local = F.avg_pool2d(
        difference.reshape(batch * count, 1, height, width),
        5,
        stride=1,
        padding=2,
        count_include_pad=False,
    ).reshape(batch, count, 1, height, width)
    trust = (1.0 - local / DIFFERENCE_LIMIT).clamp(0.0, 1.0)
    weight = confidence.sum(dim=(2, 3, 4), keepdim=True).clamp(min=1e-6)
    whole = (difference * confidence).sum(dim=(2, 3, 4), keepdim=True) / weight
    low, high = WHOLE_DIFFERENCE
    kept = ((high - whole) / (high - low)).clamp(0.0, 1.0)
    return confidence * trust * kept


def warp_neighbours(
    current: torch.Tensor,
    images: torch.Tensor,
    positions: torch.Tensor,
    confidence: torch.Tensor,
) -> NeighbourInputs:
    """Warp N neighbours of each crop and gate their confidence.

    Args:
        current: (B, 3, h, w) the crops being super-resolved.
        images: (B, N, 3, H, W) the neighbours' low-resolution images (any window of them).
        positions: (B, N, h, w, 2) where each crop pixel lies in its neighbour's image.
        confidence: (B, N, 1, h, w) trust in each position (0: missing neighbour).

    Returns:
        NeighbourInputs; where a neighbour is missing or the position leaves its image, the warped
        value is the current crop's and the confidence 0.
    """
    batch, count = positions.shape[:2]
    if count == 0:
        empty = current.new_zeros((batch, 0, *current.shape[1:]))
        return NeighbourInputs(empty, empty[:, :, :1])
    flat_images = images.reshape(batch * count, *images.shape[2:])
    values, inside = sample_pixels(
        flat_images, positions.reshape(batch * count, *positions.shape[2:])
    )
    values = values.reshape(batch, count, *values.shape[1:])
    trust = confidence * inside.reshape(batch, count, *inside.shape[1:])
    # Untrusted pixels show the current crop: the network never sees an unregistered image.
    warped = torch.where(trust > 0, values, current[:, None].expand_as(values))
    return NeighbourInputs(warped, gate_by_difference(current, warped, trust))
