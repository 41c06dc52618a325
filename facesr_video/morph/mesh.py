"""Mesh geometry shared by the fit (lighting from facing vertices) and the renderer (normal maps,
part labels): one vertex-normal rule, so what the fit calls "facing" is what the render shades.
"""

from __future__ import annotations

import numpy as np
import torch


def vertex_normals(vertices: torch.Tensor, tris: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals.

    Args:
        vertices: (B, V, 3) or (V, 3); tris: (F, 3) int64, counter-clockwise seen from outside in
            a right-handed frame (so normals point out of the surface).

    Returns:
        normals of the vertices' shape, unit length (zero vectors for unused vertices).
    """
    if vertices.ndim == 2:
        return vertex_normals(vertices[None], tris)[0]
    batch, num_verts, _ = vertices.shape
    num_tris = tris.shape[0]
    corners = vertices.index_select(1, tris.reshape(-1)).view(batch, num_tris, 3, 3)
    face = torch.linalg.cross(
        corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0]
    )
    # One index_add over the vertex axis laid out first: (V, B*3) gathers all corners at once.
    per_face = face.permute(1, 0, 2).reshape(num_tris, batch * 3).repeat(3, 1)
    normals = vertices.new_zeros(num_verts, batch * 3).index_add(0, tris.t().reshape(-1), per_face)
    normals = normals.view(num_verts, batch, 3).permute(1, 0, 2)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)


def vertex_normals_np(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """`vertex_normals` for numpy callers: (V, 3) float, (F, 3) int -> (V, 3) float64."""
    verts = torch.from_numpy(np.asarray(vertices, np.float64))
    tris = torch.from_numpy(np.asarray(triangles, np.int64))
    return vertex_normals(verts, tris).numpy()
