"""The one vertex-normal rule (morph/mesh.py), shared by the lighting fit and the renderer."""

from __future__ import annotations

import numpy as np
import torch

from facesr_video.morph.mesh import vertex_normals, vertex_normals_np

# A tetrahedron, every triangle counter-clockwise seen from outside.
TETRA = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
TETRA_TRIS = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def test_plane_normals_face_the_viewer() -> None:
    vertices = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    triangles = np.array([[0, 1, 2], [1, 3, 2]])  # counter-clockwise seen from +z
    np.testing.assert_allclose(vertex_normals_np(vertices, triangles), [[0, 0, 1]] * 4, atol=1e-12)


def test_closed_mesh_normals_point_outward_and_are_unit() -> None:
    normals = vertex_normals_np(TETRA, TETRA_TRIS)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-12)
    outward = TETRA - TETRA.mean(0)
    assert (np.einsum("ij,ij->i", normals, outward) > 0).all()
    np.testing.assert_allclose(normals[0], -np.ones(3) / np.sqrt(3), atol=1e-12)


def test_batched_equals_one_at_a_time_and_unused_vertices_are_zero() -> None:
    rng = np.random.default_rng(0)
    verts = np.concatenate([TETRA, [[5.0, 5.0, 5.0]]])  # vertex 4 is in no triangle
    batch = torch.from_numpy(verts + rng.normal(0, 0.05, (3, 5, 3)))
    tris = torch.from_numpy(TETRA_TRIS)
    together = vertex_normals(batch, tris)
    assert together.shape == (3, 5, 3)
    for b in range(3):
        torch.testing.assert_close(together[b], vertex_normals(batch[b], tris))
        one = vertex_normals_np(batch[b].numpy(), TETRA_TRIS)
        np.testing.assert_allclose(together[b].numpy(), one)
    assert (together[:, 4] == 0).all()


def test_area_weighting() -> None:
    """A vertex shared by a big and a small triangle leans toward the big one's normal."""
    verts = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 1], [-1, 0, 0]])
    tris = np.array([[0, 1, 2], [0, 4, 3]])  # big one faces +z, small one faces +y
    normal = vertex_normals_np(verts, tris)[0]
    np.testing.assert_allclose(normal, np.array([0, 1, 100]) / np.hypot(1, 100), atol=1e-12)
