"""Spherical-harmonics shading (9 coefficients, bands 0-2) of Lambertian surfaces from normals.

The basis is the real, orthonormal SH basis evaluated at unit normals, in this order:
Y00, Y1-1 (y), Y10 (z), Y11 (x), Y2-2 (xy), Y2-1 (yz), Y20 (3z^2 - 1), Y21 (xz), Y22 (x^2 - y^2).
Coefficients `sh` (B, 9, 3) are irradiance coefficients per RGB channel: shading = basis . sh, so
the Lambertian convolution is already inside them (`directional_sh` builds such coefficients for
an ambient plus one distant light). Normals are in camera space (OpenCV: x right, y down, z
forward), so a light "from the camera" has direction (0, 0, -1).
"""

from __future__ import annotations

import math

import torch

_C0 = 0.5 / math.sqrt(math.pi)  # 0.282095
_C1 = math.sqrt(3.0 / (4.0 * math.pi))  # 0.488603
_C2 = 0.5 * math.sqrt(15.0 / math.pi)  # 1.092548
_C20 = 0.25 * math.sqrt(5.0 / math.pi)  # 0.315392
_C22 = 0.25 * math.sqrt(15.0 / math.pi)  # 0.546274
# Lambertian (clamped cosine) convolution per band: pi, 2 pi / 3, pi / 4.
_LAMBERT = (math.pi, 2.0 * math.pi / 3.0, math.pi / 4.0)
_BAND = (0, 1, 1, 1, 2, 2, 2, 2, 2)


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """Real SH basis up to band 2.

    Args:
        normals: (..., 3) unit vectors (x, y, z).

    Returns:
        (..., 9) basis values in the order of the module docstring.
    """
    x, y, z = normals.unbind(-1)
    return torch.stack(
        [
            torch.full_like(x, _C0),
            _C1 * y,
            _C1 * z,
            _C1 * x,
            _C2 * x * y,
            _C2 * y * z,
            _C20 * (3.0 * z * z - 1.0),
            _C2 * x * z,
            _C22 * (x * x - y * y),
        ],
        dim=-1,
    )


def sh_shading(normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Irradiance at each normal under SH lighting.

    Args:
        normals: (B, ..., 3) unit normals (any spatial dims after the batch).
        sh: (B, 9, 3) coefficients per RGB channel.

    Returns:
        (B, ..., 3) shading per channel.
    """
    if sh.ndim != 3 or sh.shape[1:] != (9, 3):
        raise ValueError(f"sh must be (B, 9, 3), got {tuple(sh.shape)}")
    if normals.shape[0] != sh.shape[0] or normals.shape[-1] != 3:
        raise ValueError(f"normals must be ({sh.shape[0]}, ..., 3), got {tuple(normals.shape)}")
    basis = sh_basis(normals)
    batch = basis.shape[0]
    flat = basis.reshape(batch, -1, 9)
    out = torch.bmm(flat, sh.to(basis.dtype))
    return out.reshape(*normals.shape[:-1], 3)


def directional_sh(
    direction: torch.Tensor,
    intensity: float | torch.Tensor = 0.6,
    ambient: float | torch.Tensor = 0.4,
) -> torch.Tensor:
    """SH coefficients of `ambient` + `intensity` * max(0, n . d), band-limited to order 2.

    Args:
        direction: (B, 3) toward the light (normalised here), camera space.
        intensity, ambient: floats or (B,) tensors, the same on all colour channels.

    Returns:
        (B, 9, 3) coefficients for `sh_shading`.
    """
    d = torch.nn.functional.normalize(direction.float(), dim=-1)
    lam = torch.tensor([_LAMBERT[b] for b in _BAND], dtype=d.dtype, device=d.device)
    k = torch.as_tensor(intensity, dtype=d.dtype, device=d.device).reshape(-1, 1)
    coeffs = sh_basis(d) * lam * k
    amb = torch.as_tensor(ambient, dtype=d.dtype, device=d.device).reshape(-1)
    coeffs[:, 0] = coeffs[:, 0] + amb / _C0
    return coeffs.unsqueeze(-1).expand(-1, 9, 3).contiguous()


def default_sh(batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A neutral light for fits without lighting: ambient plus a light from above the camera.

    Returns:
        (batch, 9, 3) coefficients.
    """
    direction = torch.tensor([[0.0, -0.4, -1.0]], device=device).expand(batch, 3)
    return directional_sh(direction, intensity=0.65, ambient=0.35)
