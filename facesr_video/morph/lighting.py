"""Spherical-harmonics lighting: basis, shading, and a least-squares fit from low-res pixels.

Second-order real SH (9 coefficients per RGB channel), the renderer's convention: orthonormal
basis, the Lambertian convolution inside the coefficients, so shading = basis(normal) @
coefficients. Normals are unit vectors in camera space (OpenCV axes). Albedo is simple: a given
per-vertex colour or, by default, 1 (the lighting then absorbs the skin colour), because 68
landmarks and a low-resolution face cannot separate the two.
"""

from __future__ import annotations

import numpy as np
import torch

from facesr_video.morph.camera import camera_vertices, project
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.mesh import vertex_normals_np
from facesr_video.morph.sh import sh_basis as torch_sh_basis


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """Unit normals (N, 3) -> SH basis values (N, 9): morph/sh.py's basis, in numpy.

    One convention for the fit and the renderer: the coefficients a fit returns are irradiance
    coefficients that `morph.sh.sh_shading` (used by render/priors.py) shades with directly.
    """
    return torch_sh_basis(torch.from_numpy(np.asarray(normals, np.float64))).numpy()


def shade(
    normals: np.ndarray, lighting: np.ndarray, albedo: np.ndarray | None = None
) -> np.ndarray:
    """Normals (N, 3), lighting (9, 3), albedo (N, 3) or None (= 1) -> RGB (N, 3)."""
    rgb = sh_basis(normals) @ lighting
    return rgb if albedo is None else rgb * albedo


def fit_lighting(
    colors: np.ndarray,
    normals: np.ndarray,
    albedo: np.ndarray | None = None,
    ridge: float = 1e-3,
) -> np.ndarray:
    """Least-squares SH lighting (9, 3) from observed RGB (N, 3) in [0, 1] at normals (N, 3)."""
    basis = sh_basis(normals)  # (N, 9)
    out = np.zeros((9, 3))
    for ch in range(3):
        a = basis if albedo is None else basis * albedo[:, ch : ch + 1]
        h = a.T @ a + ridge * len(a) * np.eye(9)
        out[:, ch] = np.linalg.solve(h, a.T @ colors[:, ch])
    return out.astype(np.float32)


def sample_bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Image (H, W, C) float at pixel points (N, 2) -> (N, C); points must lie inside."""
    h, w = image.shape[:2]
    x = np.clip(xy[:, 0], 0, w - 1.001)
    y = np.clip(xy[:, 1], 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def fit_lighting_from_image(
    image: np.ndarray,
    model: FaceModel,
    fit: object,
    max_samples: int = 3000,
    albedo: np.ndarray | None = None,
) -> np.ndarray:
    """SH lighting (9, 3) from an RGB image (H, W, 3) float in [0, 1] and a FaceFit.

    Uses the mesh's vertices that face the camera and project inside the image (no rasteriser:
    self-occlusion is ignored, which is mild for the face region at moderate yaw). albedo is
    per-vertex (V, 3) or None.
    """
    pose = fit.pose  # type: ignore[attr-defined]
    verts = model.vertices(fit.identity, fit.expression).astype(np.float64)  # type: ignore[attr-defined]
    cam = camera_vertices(verts, pose)
    normals = vertex_normals_np(cam, model.triangles)
    xy = project(cam, fit.camera)  # type: ignore[attr-defined]
    h, w = image.shape[:2]
    facing = np.einsum("ij,ij->i", normals, -cam) > 0
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    keep = np.flatnonzero(facing & inside)
    if len(keep) < 50:
        return np.zeros((9, 3), np.float32)
    if len(keep) > max_samples:
        keep = keep[np.linspace(0, len(keep) - 1, max_samples).astype(int)]
    colors = sample_bilinear(image.astype(np.float64), xy[keep])
    return fit_lighting(colors, normals[keep], None if albedo is None else albedo[keep])
