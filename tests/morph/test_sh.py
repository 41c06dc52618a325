"""Spherical-harmonics shading: basis properties and what known lights produce."""

from __future__ import annotations

import math

import pytest
import torch

from facesr_video.morph.sh import default_sh, directional_sh, sh_basis, sh_shading


def random_normals(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(
        torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1
    )


def test_basis_is_orthonormal_over_the_sphere() -> None:
    normals = random_normals(200_000)
    basis = sh_basis(normals)
    gram = 4 * math.pi * basis.T @ basis / normals.shape[0]  # Monte Carlo integral
    assert torch.allclose(gram, torch.eye(9, dtype=torch.float64), atol=0.02)


def test_constant_sh_gives_constant_shading() -> None:
    sh = torch.zeros(2, 9, 3)
    sh[:, 0] = torch.tensor([1.0, 2.0, 0.5]) / 0.2820948
    out = sh_shading(random_normals(50).float().expand(2, 50, 3), sh)
    assert out.shape == (2, 50, 3)
    assert torch.allclose(out, torch.tensor([1.0, 2.0, 0.5]).expand(2, 50, 3), atol=1e-5)


def test_directional_light_approximates_clamped_cosine() -> None:
    direction = torch.tensor([[0.0, 0.0, -1.0]])
    sh = directional_sh(direction, intensity=1.0, ambient=0.0)
    normals = random_normals(2000).float().unsqueeze(0)
    shading = sh_shading(normals, sh)[0, :, 0]
    target = (normals[0] @ direction[0]).clamp(min=0)
    # Order-2 SH reproduces max(0, cos) to within about 0.1 everywhere (band-limited).
    assert (shading - target).abs().max() < 0.1
    facing = sh_shading(direction.unsqueeze(1), sh)[0, 0, 0]
    away = sh_shading(-direction.unsqueeze(1), sh)[0, 0, 0]
    assert facing > 0.95 and abs(away) < 0.1


def test_default_light_is_brighter_toward_the_camera() -> None:
    sh = default_sh(1)
    toward = sh_shading(torch.tensor([[[0.0, 0.0, -1.0]]]), sh)
    side = sh_shading(torch.tensor([[[1.0, 0.0, 0.0]]]), sh)
    assert (toward > side).all() and (side > 0).all() and (toward <= 1.05).all()


def test_shading_is_differentiable_and_checks_shapes() -> None:
    sh = torch.randn(1, 9, 3, dtype=torch.float64, requires_grad=True)
    normals = random_normals(5).unsqueeze(0)
    assert torch.autograd.gradcheck(lambda s: sh_shading(normals, s), (sh,))
    with pytest.raises(ValueError, match=r"\(B, 9, 3\)"):
        sh_shading(normals, torch.zeros(1, 4, 3, dtype=torch.float64))
