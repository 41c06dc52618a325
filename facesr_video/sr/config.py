"""SAM network sizes as a frozen config, saved with the weights so a checkpoint rebuilds itself.

Variants are entries in the plain dict `VARIANTS`; `facesr_video.sr.network.create_model` builds
one by name with explicit overrides. Prior modes:

- ``"none"``: no conditioning (SFT layers are identities), the ablation baseline;
- ``"render"``: conditioned on the rendered prior maps only;
- ``"all"``: prior maps plus the coefficient vector, projected to a few planes (feature transform).

`frames` > 1 adds the neighbouring frames, registered by the 3D fits (sr/neighbours.py), fused into
the shallow features (network.NeighbourFusion).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

PRIOR_MODES = ("none", "render", "all")
SCALES = (2, 4, 8)
UPSAMPLERS = ("progressive", "hybrid", "direct")
"""How features reach the output size: `progressive`, the paper's conv + pixel shuffle x2 per
octave (most of the network's cost at x4 and x8: convolutions at 2x, 4x and 8x the input size);
`direct`, one convolution at the input size to 3*S^2 channels shuffled to the output (ESPCN, as
efficient SR networks do); `hybrid`, the progressive first octave, then one convolution to the
output at twice the input size (a third of sam-light's work at x4 and x8 is left out)."""


@dataclass(frozen=True)
class SAMConfig:
    """Every size of a SAMNet. `prior_channels`/`coeff_dim` come from the store's prior layout."""

    scale: int = 4
    channels: int = 32
    num_groups: int = 2
    blocks_per_group: int = 2
    prior_mode: str = "none"
    prior_channels: int = 0
    coeff_dim: int = 0
    coeff_planes: int = 4
    # Coefficient entries the network never reads (indices into the vector): the camera
    # translation only says where the face sits and how far, which follows the crop's size and
    # framing rather than the face (render.layout.translation_indices).
    coeff_skip: tuple[int, ...] = ()
    cond_channels: int = 32
    reduction: int = 8
    residual_scale: float = 1.0
    # Frames the network sees: the current one and frames - 1 registered neighbours (odd window
    # t-k..t+k); 1 is the single-frame network of the paper.
    frames: int = 1
    fusion_channels: int = 24
    upsampler: str = "progressive"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale}")
        if self.prior_mode not in PRIOR_MODES:
            raise ValueError(f"prior_mode must be one of {PRIOR_MODES}, got {self.prior_mode!r}")
        if self.prior_mode in ("render", "all") and self.prior_channels <= 0:
            raise ValueError(f"prior_mode {self.prior_mode!r} needs prior_channels > 0")
        if self.prior_mode == "all" and self.coeff_dim <= 0:
            raise ValueError("prior_mode 'all' needs coeff_dim > 0")
        if any(not 0 <= i < self.coeff_dim for i in self.coeff_skip):
            raise ValueError(f"coeff_skip {self.coeff_skip} outside the {self.coeff_dim} entries")
        if self.frames < 1 or self.frames % 2 == 0:
            raise ValueError(f"frames must be an odd window size (1, 3, 5, ...), got {self.frames}")
        if self.upsampler not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {UPSAMPLERS}, got {self.upsampler!r}")
        names = ("channels", "num_groups", "blocks_per_group", "cond_channels", "reduction")
        for name in names + ("fusion_channels",):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def uses_maps(self) -> bool:
        return self.prior_mode in ("render", "all")

    @property
    def uses_coeffs(self) -> bool:
        return self.prior_mode == "all"

    @property
    def neighbours(self) -> int:
        """Registered neighbouring frames per input (0 for a single-frame network)."""
        return self.frames - 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SAMConfig:
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown SAMConfig fields: {sorted(unknown)}")
        if "coeff_skip" in data:
            data["coeff_skip"] = tuple(data["coeff_skip"])
        return cls(**data)

    def with_priors(
        self, mode: str, prior_channels: int, coeff_dim: int, coeff_skip: tuple[int, ...] = ()
    ) -> SAMConfig:
        """The same sizes with a prior mode; unused prior sizes are zeroed so configs compare."""
        return replace(
            self,
            prior_mode=mode,
            prior_channels=prior_channels if mode in ("render", "all") else 0,
            coeff_dim=coeff_dim if mode == "all" else 0,
            coeff_skip=tuple(coeff_skip) if mode == "all" else (),
        )


# Sizes chosen by tests/benchmarks/bench_sr.py (see the module docstring there for figures).
VARIANTS: dict[str, SAMConfig] = {
    "sam-tiny": SAMConfig(channels=16, num_groups=1, blocks_per_group=2, cond_channels=16),
    "sam-light": SAMConfig(channels=32, num_groups=2, blocks_per_group=2, cond_channels=32),
    "sam-light-direct": SAMConfig(
        channels=32, num_groups=2, blocks_per_group=2, cond_channels=32, upsampler="direct"
    ),
    "sam-light-hybrid": SAMConfig(
        channels=32, num_groups=2, blocks_per_group=2, cond_channels=32, upsampler="hybrid"
    ),
    # sam-light-direct with 3 blocks a group, started from it by `train --init` (the new blocks
    # begin as identity): the face path's speed is set by detection and fitting, which run
    # beside the network, so the deeper body costs enhance little.
    "sam-light-direct-b3": SAMConfig(
        channels=32, num_groups=2, blocks_per_group=3, cond_channels=32, upsampler="direct"
    ),
    "sam-medium": SAMConfig(channels=48, num_groups=3, blocks_per_group=2, cond_channels=48),
    "sam-base": SAMConfig(channels=64, num_groups=4, blocks_per_group=4, cond_channels=48),
}
