"""The prior layout: which channel is which, versioned, saved with the weights that consume it.

Layout "priors-v1", maps (B, 13, H, W) float32 at the output crop size, aligned with the crop:

| index | name       | meaning                                                        | range   |
|-------|------------|----------------------------------------------------------------|---------|
| 0-2   | render_rgb | albedo x SH shading (flat grey albedo 0.7 without a fit's)     | [0, 1]  |
| 3-5   | normal_xyz | unit normal, camera space (OpenCV: x right, y down, z          | [-1, 1] |
|       |            | forward); surfaces facing the camera have normal_z < 0         |         |
| 6     | depth      | relative depth in the face: 1 at the nearest vertex, 0 at the  | [0, 1]  |
|       |            | farthest; 0 outside the face (read it with `mask`)             |         |
| 7     | mask       | coverage: 1 where the face mesh covers the pixel centre (a     | [0, 1]  |
|       |            | fraction at the rim when rendered small and resized up)        |         |
| 8-12  | part_*     | skin, brows, eyes, nose, lips: vertex one-hot labels           | [0, 1]  |
|       |            | interpolated; they sum to `mask` (background = 1 - mask)       |         |

Outside the mask every channel is 0.

Coefficients (B, D) stay a vector, in the order of `coefficient_names`: identity weights
(`id_000`...), expression weights (`exp_<name>` in the model's order), pose (`rot_x, rot_y, rot_z`
axis-angle in radians, `trans_x, trans_y, trans_z` in model units, camera space) and lighting
(`sh_<k>_<rgb>` for the 9 SH coefficients of morph/sh.py). The network projects the vector
into feature maps itself (a learned linear layer, the paper's feature transform);
`render.priors.coefficient_planes` broadcasts it into constant planes for variants that want maps.
D depends on the face model (ICT-FaceKit: 100 + 53 + 6 + 27 = 186), so the layout is built from
the model and stored whole with the weights (`to_dict` / `from_dict`).

Variants (ablations of the paper): "none" uses no prior, "render" only the shaded render, "all"
every map plus the coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel

LAYOUT_VERSION = "priors-v1"
CHANNELS_V1: tuple[str, ...] = (
    "render_r",
    "render_g",
    "render_b",
    "normal_x",
    "normal_y",
    "normal_z",
    "depth",
    "mask",
    "part_skin",
    "part_brows",
    "part_eyes",
    "part_nose",
    "part_lips",
)
POSE_NAMES: tuple[str, ...] = ("rot_x", "rot_y", "rot_z", "trans_x", "trans_y", "trans_z")
SH_NAMES: tuple[str, ...] = tuple(f"sh_{k}_{c}" for k in range(9) for c in "rgb")

Variant = Literal["none", "render", "all"]
VARIANTS: tuple[str, ...] = ("none", "render", "all")


@dataclass(frozen=True)
class PriorLayout:
    """Ordered prior channels and coefficient names, with the layout version."""

    version: str
    channels: tuple[str, ...]
    coefficient_names: tuple[str, ...]

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    @property
    def num_coefficients(self) -> int:
        return len(self.coefficient_names)

    def index(self, name: str) -> int:
        """Channel index of `name` (e.g. "mask")."""
        try:
            return self.channels.index(name)
        except ValueError:
            raise KeyError(f"no channel {name!r} in layout {self.version}") from None

    def channels_for(self, variant: str) -> tuple[int, ...]:
        """Channel indices a network variant consumes ("none", "render" or "all")."""
        return variant_channels(self.channels, variant)

    def uses_coefficients(self, variant: str) -> bool:
        """Whether a variant also consumes the coefficient vector."""
        self.channels_for(variant)
        return variant == "all"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able form, for weights metadata and store headers."""
        return {
            "version": self.version,
            "channels": list(self.channels),
            "coefficient_names": list(self.coefficient_names),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PriorLayout:
        """Inverse of to_dict; ModelError when the version is not one this code renders."""
        version = str(data.get("version", ""))
        if version != LAYOUT_VERSION:
            raise ModelError(
                f"prior layout {version!r} is not supported (this facesr-video renders "
                f"{LAYOUT_VERSION})",
                "use weights and stores made by the same facesr-video version",
            )
        channels = tuple(str(c) for c in data["channels"])  # type: ignore[union-attr]
        if channels != CHANNELS_V1:
            raise ModelError(f"prior layout {version} has unexpected channels {channels}")
        names = tuple(str(c) for c in data["coefficient_names"])  # type: ignore[union-attr]
        return cls(version=version, channels=channels, coefficient_names=names)


def variant_channels(channels: tuple[str, ...], variant: str) -> tuple[int, ...]:
    """Indices of the named map channels a variant consumes, in layout order.

    "render" keeps the shaded render (channels named render_*; every map if a layout has none),
    "all" every map, "none" nothing. Works on names alone, so a store's channel list serves too.
    """
    if variant == "none":
        return ()
    if variant == "render":
        picked = tuple(i for i, n in enumerate(channels) if n.startswith("render"))
        return picked or tuple(range(len(channels)))
    if variant == "all":
        return tuple(range(len(channels)))
    raise ValueError(f"unknown prior variant {variant!r}; expected one of {VARIANTS}")


def coefficient_names(model: FaceModel) -> tuple[str, ...]:
    """Names of the coefficient vector for a model: identity, expression, pose, lighting."""
    ident = tuple(f"id_{i:03d}" for i in range(model.num_identity))
    expr = tuple(f"exp_{n}" for n in model.expression_names)
    return ident + expr + POSE_NAMES + SH_NAMES


def translation_indices(coeff_dim: int) -> tuple[int, ...]:
    """Where `trans_x, trans_y, trans_z` sit in a vector of `coeff_dim` entries: just before the
    lighting, which ends every layout-v1 vector. Networks leave them out (SAMConfig.coeff_skip):
    where the face sits and how far the camera is follow the crop's size, not the face. A vector
    too short to end in pose and lighting has none."""
    start = coeff_dim - len(SH_NAMES) - 3
    return tuple(range(start, start + 3)) if start >= len(POSE_NAMES) - 3 else ()


def prior_layout(model: FaceModel) -> PriorLayout:
    """The current layout for a face model."""
    return PriorLayout(LAYOUT_VERSION, CHANNELS_V1, coefficient_names(model))


def pack_coefficients(
    layout: PriorLayout,
    identity: torch.Tensor,
    expression: torch.Tensor,
    rotation: torch.Tensor,
    translation: torch.Tensor,
    sh: torch.Tensor,
) -> torch.Tensor:
    """Concatenate a fit into the layout's coefficient vector.

    Args:
        identity: (B, K); expression: (B, E); rotation: (B, 3) axis-angle radians;
        translation: (B, 3); sh: (B, 9, 3).

    Returns:
        (B, D) float32 with D = layout.num_coefficients.
    """
    batch = identity.shape[0]
    parts = [identity, expression, rotation, translation, sh.reshape(batch, 27)]
    out = torch.cat([p.reshape(batch, -1).float() for p in parts], dim=1)
    if out.shape[1] != layout.num_coefficients:
        raise ValueError(
            f"fit packs into {out.shape[1]} coefficients, layout {layout.version} expects "
            f"{layout.num_coefficients} (identity/expression sizes must match the model)"
        )
    return out
