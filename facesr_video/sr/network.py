"""The SAM network (Hu et al. 2020): SR of an aligned face crop conditioned on 3D prior maps.

LR crop -> shallow conv -> residual groups of spatial attention blocks (SFT -> conv + channel
attention -> SFT -> conv, residual), each group with its own skip, a long skip over the body ->
pixel-shuffle upsampler -> residual added to the bicubic upscale of the LR crop (sr/bicubic.py).
The prior maps arrive at the HR crop size (training); a small condition net brings them to LR
resolution with pixel unshuffle (cheap: no convolution ever runs at HR size) and mixes in the
coefficient vector as a few broadcast planes (the paper's feature transform). Every SFT layer reads
that shared condition. Maps rendered at the LR size (enhance) are read as their bilinear upscale,
exactly, without making it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from facesr_video.errors import ModelError
from facesr_video.sr.bicubic import BicubicUpscale
from facesr_video.sr.bilinear import fold_unshuffled_linear
from facesr_video.sr.config import VARIANTS, SAMConfig


class ConditionNet(nn.Module):
    """Prior maps (B, Cp, S*h, S*w) [+ coefficients (B, D)] -> condition (B, Cc, h, w)."""

    def __init__(self, config: SAMConfig) -> None:
        super().__init__()
        self.scale = config.scale
        self.coeff_proj = (
            nn.Linear(config.coeff_dim, config.coeff_planes) if config.uses_coeffs else None
        )
        keep = torch.ones(max(config.coeff_dim, 1))
        keep[list(config.coeff_skip)] = 0.0
        self.register_buffer("coeff_keep", keep, persistent=False)
        planes = config.coeff_planes if config.uses_coeffs else 0
        in_ch = config.prior_channels * config.scale**2 + planes
        cc = config.cond_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, cc, 1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(cc, cc, 3, padding=1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(cc, cc, 3, padding=1),
        )

    def forward(
        self, priors: torch.Tensor, coeffs: torch.Tensor | None, lr_size: tuple[int, int]
    ) -> torch.Tensor:
        """priors (B, Cp, S*h, S*w), or (B, Cp, h, w) read as if upscaled bilinearly to that;
        coeffs (B, D) or None; lr_size (h, w) -> (B, Cc, h, w)."""
        if self.coeff_proj is not None and coeffs is None:
            raise ValueError("this model needs the coefficient vector (prior_mode 'all')")
        if coeffs is not None:
            coeffs = coeffs * self.coeff_keep.to(coeffs.dtype)
        if tuple(priors.shape[2:]) == tuple(lr_size):
            return self.net[1:](self._first_from_input_size(priors, coeffs))
        x = F.pixel_unshuffle(priors, self.scale)
        if self.coeff_proj is not None:
            planes = self.coeff_proj(coeffs)[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        return self.net(x)

    def _first_from_input_size(
        self, priors: torch.Tensor, coeffs: torch.Tensor | None
    ) -> torch.Tensor:
        """The first (1x1) layer's output from maps at the input size: the bilinear upscale and
        pixel unshuffle folded into its weights (sr/bilinear.py), so the same numbers come
        from 1/S^2 of the map pixels and no upscaled maps are ever made."""
        first: nn.Conv2d = self.net[0]
        maps_in = priors.shape[1] * self.scale**2
        weight = first.weight[:, :, 0, 0]
        kernel = fold_unshuffled_linear(weight[:, :maps_in], priors.shape[1], self.scale)
        padded = F.pad(priors, (1, 1, 1, 1), mode="replicate")
        x = F.conv2d(padded, kernel.to(priors.dtype), first.bias)
        if self.coeff_proj is not None:
            planes = self.coeff_proj(coeffs) @ weight[:, maps_in:].t()  # (B, Cc)
            x = x + planes[:, :, None, None]
        return x


class SFT(nn.Module):
    """Spatial feature transform: x * (1 + gamma(cond)) + beta(cond); identity without priors."""

    def __init__(self, channels: int, cond_channels: int, enabled: bool) -> None:
        super().__init__()
        self.enabled = enabled
        if enabled:
            self.gamma = nn.Sequential(
                nn.Conv2d(cond_channels, cond_channels, 1),
                nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(cond_channels, channels, 1),
            )
            self.beta = nn.Sequential(
                nn.Conv2d(cond_channels, cond_channels, 1),
                nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(cond_channels, channels, 1),
            )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """x (B, C, h, w), cond (B, Cc, h, w) or None -> (B, C, h, w)."""
        if not self.enabled or cond is None:
            return x
        return x * (1 + self.gamma(cond)) + self.beta(cond)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation gate per channel: (B, C, h, w) -> (B, C, h, w)."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class SpatialAttentionBlock(nn.Module):
    """SFT -> conv + channel attention -> SFT -> conv, residual. (B, C, h, w) -> same."""

    def __init__(self, config: SAMConfig) -> None:
        super().__init__()
        c, cc = config.channels, config.cond_channels
        self.sft1 = SFT(c, cc, config.uses_maps)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.LeakyReLU(0.1, inplace=True)
        self.ca = ChannelAttention(c, config.reduction)
        self.sft2 = SFT(c, cc, config.uses_maps)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.res_scale = config.residual_scale

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        h = self.ca(self.act(self.conv1(self.sft1(x, cond))))
        h = self.conv2(self.sft2(h, cond))
        return x + self.res_scale * h


class ResidualGroup(nn.Module):
    """A few spatial attention blocks and a conv with a skip. (B, C, h, w) -> same."""

    def __init__(self, config: SAMConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SpatialAttentionBlock(config) for _ in range(config.blocks_per_group)
        )
        self.conv = nn.Conv2d(config.channels, config.channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h, cond)
        return x + self.conv(h)


class NeighbourFusion(nn.Module):
    """Registered neighbours -> features added to the current frame's shallow features.

    Each neighbour is encoded with the current crop, its difference from it and its confidence
    (shared weights, so any number of neighbours fits), then pooled weighted by confidence. The
    output layer starts at zero: a fused network begins as its single-frame parent, and a face
    without neighbours (cut, first frame, track start: confidence 0) gets exactly that network.
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.encode = nn.Sequential(
            nn.Conv2d(7, hidden, 3, padding=1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.LeakyReLU(0.1, inplace=True),
        )
        # No bias: with every confidence 0 the fusion adds exactly nothing, however trained.
        self.out = nn.Conv2d(hidden, channels, 3, padding=1, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(
        self, lr: torch.Tensor, warped: torch.Tensor, confidence: torch.Tensor
    ) -> torch.Tensor:
        """lr (B, 3, h, w), warped (B, N, 3, h, w), confidence (B, N, 1, h, w) -> (B, C, h, w)."""
        batch, count, _, height, width = warped.shape
        current = lr[:, None].expand_as(warped)
        x = torch.cat([current, warped - current, confidence], dim=2)
        features = self.encode(x.reshape(batch * count, 7, height, width))
        features = features.view(batch, count, -1, height, width)
        weight = confidence / confidence.sum(1, keepdim=True).clamp(min=1.0)
        return self.out((features * weight).sum(1))


class Upsampler(nn.Sequential):
    """log2(scale) stages of conv + pixel shuffle x2: (B, C, h, w) -> (B, C, S*h, S*w)."""

    def __init__(self, channels: int, scale: int) -> None:
        layers: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            layers += [
                nn.Conv2d(channels, 4 * channels, 3, padding=1),
                nn.PixelShuffle(2),
                nn.LeakyReLU(0.1, inplace=True),
            ]
        super().__init__(*layers)


def output_layers(channels: int, scale: int, upsampler: str) -> tuple[nn.Module, nn.Module]:
    """(upsample, tail): features (B, C, h, w) -> residual (B, 3, S*h, S*w), the tail started
    small so that the network starts close to bicubic (stable early training)."""
    if upsampler in ("direct", "hybrid"):
        # hybrid: the first octave as the progressive upsampler makes it (same parameter names,
        # so a progressive network's first stage starts it), the rest in one shuffle.
        first = 2 if upsampler == "hybrid" else 1
        upsample: nn.Module = Upsampler(channels, first) if first > 1 else nn.Identity()
        rest = scale // first
        conv = nn.Conv2d(channels, 3 * rest * rest, 3, padding=1)
        tail: nn.Module = nn.Sequential(conv, nn.PixelShuffle(rest))
    else:
        upsample = Upsampler(channels, scale)
        conv = nn.Conv2d(channels, 3, 3, padding=1)
        tail = conv
    with torch.no_grad():
        conv.weight.mul_(0.1)
        conv.bias.zero_()
    return upsample, tail


class SAMNet(nn.Module):
    """Face SR guided by 3D priors. Fully convolutional; LR sizes must be multiples of 8."""

    def __init__(self, config: SAMConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.cond_net = ConditionNet(config) if config.uses_maps else None
        self.head = nn.Conv2d(3, c, 3, padding=1)
        self.fusion = NeighbourFusion(c, config.fusion_channels) if config.neighbours > 0 else None
        self.groups = nn.ModuleList(ResidualGroup(config) for _ in range(config.num_groups))
        self.body_conv = nn.Conv2d(c, c, 3, padding=1)
        self.upsample, self.tail = output_layers(c, config.scale, config.upsampler)
        self.bicubic = BicubicUpscale(config.scale)

    def forward(
        self,
        lr: torch.Tensor,
        priors: torch.Tensor | None = None,
        coeffs: torch.Tensor | None = None,
        warped: torch.Tensor | None = None,
        confidence: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """lr (B, 3, h, w) in [0, 1]; priors (B, Cp, S*h, S*w) or, upscaled on the fly,
        (B, Cp, h, w); coeffs (B, D); for a multi-frame
        network warped neighbours (B, N, 3, h, w) and confidences (B, N, 1, h, w), or None for
        none at all -> (B, 3, S*h, S*w).

        The output is not clamped (training wants the gradient); clamp to [0, 1] for display.
        """
        self._check_inputs(lr, priors, coeffs)
        cond = None
        if self.cond_net is not None:
            cond = self.cond_net(priors, coeffs, (lr.shape[2], lr.shape[3]))
        shallow = self.head(lr)
        if self.fusion is not None and warped is not None and confidence is not None:
            if warped.shape[2:] != (3, *lr.shape[2:]) or confidence.shape[:2] != warped.shape[:2]:
                raise ValueError(
                    f"warped must be (B, N, 3, h, w) with confidence (B, N, 1, h, w), got "
                    f"{tuple(warped.shape)} and {tuple(confidence.shape)}"
                )
            shallow = shallow + self.fusion(lr, warped, confidence)
        h = shallow
        for group in self.groups:
            h = group(h, cond)
        h = shallow + self.body_conv(h)
        residual = self.tail(self.upsample(h))
        return self.bicubic(lr) + residual

    def _check_inputs(
        self, lr: torch.Tensor, priors: torch.Tensor | None, coeffs: torch.Tensor | None
    ) -> None:
        cfg = self.config
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"lr must be (B, 3, h, w), got {tuple(lr.shape)}")
        b, _, h, w = lr.shape
        if h % 8 or w % 8:
            raise ValueError(f"LR crop size must be a multiple of 8, got {h}x{w}")
        if not cfg.uses_maps:
            return
        expected = (b, cfg.prior_channels, h * cfg.scale, w * cfg.scale)
        at_input = (b, cfg.prior_channels, h, w)
        if priors is None or tuple(priors.shape) not in (expected, at_input):
            got = None if priors is None else tuple(priors.shape)
            raise ValueError(f"priors must be {expected} (HR crop size) or {at_input}, got {got}")
        if cfg.uses_coeffs and (coeffs is None or tuple(coeffs.shape) != (b, cfg.coeff_dim)):
            got = None if coeffs is None else tuple(coeffs.shape)
            raise ValueError(f"coeffs must be {(b, cfg.coeff_dim)}, got {got}")


def create_model(name: str = "sam-light", **overrides: object) -> SAMNet:
    """Build a variant from `VARIANTS` by name, with explicit config field overrides."""
    if name not in VARIANTS:
        raise ModelError(
            f"unknown model {name!r}", hint=f"choose one of: {', '.join(sorted(VARIANTS))}"
        )
    return SAMNet(replace(VARIANTS[name], **overrides))  # type: ignore[arg-type]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
