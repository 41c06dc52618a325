"""Bicubic upscaling by an integer factor as one grouped convolution and a pixel shuffle.

`F.interpolate(x, scale_factor=S, mode="bicubic", align_corners=False)` computes the same numbers,
but as a gather per output pixel; CPU runtimes (OpenVINO, oneDNN) run it at the cost of several
convolutions. With an integer factor every output pixel is one of S*S phases, each a fixed
separable 5x5 filter of the input (border samples repeated, as interpolate clamps its indices), so
the whole upscale is a (C*S*S, 1, 5, 5) convolution with C groups followed by `pixel_shuffle(S)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CUBIC_A = -0.75  # torch's (and OpenCV's) bicubic coefficient


def _cubic(x: float, a: float = CUBIC_A) -> float:
    x = abs(x)
    if x <= 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return 0.0


def phase_weights(scale: int) -> torch.Tensor:
    """(S, 5) float64: output phase p's weights on input offsets -2..2 around its pixel."""
    weights = torch.zeros(scale, 5, dtype=torch.float64)
    for phase in range(scale):
        shift = (phase + 0.5) / scale - 0.5  # source position relative to the input pixel
        base = -1 if shift < 0 else 0
        t = shift - base
        for tap, distance in zip(range(-1, 3), (t + 1.0, t, 1.0 - t, 2.0 - t), strict=True):
            weights[phase, base + tap + 2] = _cubic(distance)
    return weights


class BicubicUpscale(nn.Module):
    """(B, C, h, w) -> (B, C, S*h, S*w), equal to interpolate(..., mode="bicubic",
    align_corners=False) up to float rounding. Holds no parameters (nothing saved)."""

    def __init__(self, scale: int, channels: int = 3) -> None:
        super().__init__()
        self.scale, self.channels = scale, channels
        w = phase_weights(scale)
        kernel = (w[:, None, :, None] * w[None, :, None, :]).reshape(scale * scale, 1, 5, 5)
        self.register_buffer("kernel", kernel.repeat(channels, 1, 1, 1).float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
        phases = F.conv2d(padded, self.kernel.to(x.dtype), groups=self.channels)
        return F.pixel_shuffle(phases, self.scale)
