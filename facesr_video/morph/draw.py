"""A visible check of a fit: the mesh drawn over the frame (wireframe, landmarks as dots)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def mesh_edges(triangles: np.ndarray) -> np.ndarray:
    """Unique undirected edges (M, 2) of triangles (F, 3)."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    return np.unique(np.sort(edges, axis=1), axis=0)


def draw_mesh(
    rgb: np.ndarray,
    projected_xy: np.ndarray,
    triangles: np.ndarray | None = None,
    points: np.ndarray | None = None,
    color: tuple[int, int, int] = (0, 255, 120),
    point_color: tuple[int, int, int] = (255, 60, 60),
    visible: np.ndarray | None = None,
    edge_step: int = 1,
) -> np.ndarray:
    """Overlay on a (H, W, 3) uint8 frame; returns a new (H, W, 3) uint8 array.

    projected_xy (V, 2) pixel xy of the vertices; triangles (F, 3) drawn as a wireframe (only
    where visible (F,) is True, every edge_step-th edge); points (P, 2) drawn as dots
    (e.g. detected landmarks). Without triangles, vertices are drawn as pixels (small crosses
    when there are at most 200, e.g. projected landmark vertices).
    """
    image = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(image)
    if triangles is not None:
        tris = triangles if visible is None else triangles[visible]
        for a, b in mesh_edges(tris)[::edge_step]:
            xa, ya = projected_xy[a]
            xb, yb = projected_xy[b]
            draw.line([(float(xa), float(ya)), (float(xb), float(yb))], fill=color, width=1)
    else:
        for x, y in projected_xy:
            draw.point((float(x), float(y)), fill=color)
            if len(projected_xy) <= 200:  # few points (landmarks): make them visible as crosses
                x, y = float(x), float(y)
                draw.line([(x - 2, y), (x + 2, y)], fill=color)
                draw.line([(x, y - 2), (x, y + 2)], fill=color)
    if points is not None:
        r = max(1.0, min(rgb.shape[:2]) / 300)
        for x, y in points:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=point_color)
    return np.asarray(image)


def front_facing(cam_vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(F,) bool: triangles whose outward normal faces the camera, from camera-space (V, 3)."""
    a, b, c = (cam_vertices[triangles[:, i]] for i in range(3))
    normal = np.cross(b - a, c - a)
    return np.einsum("ij,ij->i", normal, -(a + b + c) / 3) > 0
