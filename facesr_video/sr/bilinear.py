"""Bilinear upscaling by an integer factor, seen one low-resolution pixel at a time.

`F.interpolate(x, scale_factor=S, mode="bilinear", align_corners=False)` gives each input pixel
S x S output samples (phases), each a fixed blend of the pixel and its neighbours (border samples
repeated, as interpolate clamps its indices). So anything that upscales this way and then folds the
phases back into channels (`pixel_unshuffle(S)`) and mixes them linearly is one 3x3 convolution of
the input: the network reads prior maps rendered at the input size without ever making the
upscaled maps (`sr/network.py`, ConditionNet).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def phase_weights(scale: int) -> torch.Tensor:
    """(S, 3) float64: output phase p's weights on input offsets -1, 0, +1 around its pixel."""
    weights = torch.zeros(scale, 3, dtype=torch.float64)
    for phase in range(scale):
        shift = (phase + 0.5) / scale - 0.5  # source position relative to the input pixel
        neighbour = 0 if shift < 0 else 2
        weights[phase, 1] = 1.0 - abs(shift)
        weights[phase, neighbour] = abs(shift)
    return weights


def fold_unshuffled_linear(weight: torch.Tensor, channels: int, scale: int) -> torch.Tensor:
    """A 1x1 convolution over `pixel_unshuffle(upscaled, S)` -> the same map as a 3x3
    convolution over the input (padded by replicating its border).

    weight: (O, channels*S*S) or (O, channels*S*S, 1, 1) -> (O, channels, 3, 3)."""
    out = weight.shape[0]
    phases = weight.reshape(out, channels, scale, scale)
    taps = phase_weights(scale).to(weight.dtype)
    return torch.einsum("ocij,iy,jx->ocyx", phases, taps, taps)


def upscaled_block_mean(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h, w): the mean over each S x S block of x upscaled bilinearly,
    equal to `avg_pool2d(interpolate(x, scale_factor=S, mode="bilinear"), S)` without making the
    upscaled tensor (a 3x3 blur)."""
    taps = phase_weights(scale).mean(0).to(x.dtype)
    kernel = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 3, 3).to(x.device)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])


def upscale_bilinear(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, S*h, S*w): `interpolate(x, scale_factor=S, mode="bilinear",
    align_corners=False)`, run on a (B*C, 1, h, w) view, which torch's CPU kernel upsamples
    two to three times faster than three channels side by side (same values to float rounding)."""
    batch, channels, height, width = x.shape
    if scale == 1:
        return x
    flat = x.contiguous().view(batch * channels, 1, height, width)
    big = F.interpolate(flat, scale_factor=scale, mode="bilinear", align_corners=False)
    return big.view(batch, channels, height * scale, width * scale)
