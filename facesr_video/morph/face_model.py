"""The in-memory 3D morphable face model shared by fitting, rendering and the network's priors.

A FaceModel is plain arrays: vertices = mean + identity_basis . w_id + expression_basis . w_exp.
Units are the model's own (ICT-FaceKit: centimetres); +x to the face's left, +y up, +z out of
the face toward a frontal viewer. Formats and importers live beside this file; they all produce
this record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceModel:
    """A linear 3D face model.

    Shapes: V vertices, K identity modes, E expression shapes, F triangles, A albedo modes.
    """

    mean: np.ndarray  # (V, 3) float32
    identity_basis: np.ndarray  # (K, V, 3) float32, weights ~ N(0, 1)
    expression_basis: np.ndarray  # (E, V, 3) float32, weights in [0, 1]
    expression_names: tuple[str, ...]  # (E,)
    triangles: np.ndarray  # (F, 3) int64, counter-clockwise seen from outside
    landmarks68: np.ndarray  # (68,) int64, vertex per iBUG-68 landmark in dlib's order
    jaw_contour_right: np.ndarray  # (C,) int64 candidate vertices for landmarks 0-7
    jaw_contour_left: np.ndarray  # (C,) int64 candidate vertices for landmarks 9-16
    uv: np.ndarray | None = None  # (U, 2) float32
    triangles_uv: np.ndarray | None = None  # (F, 3) int64
    albedo_mean: np.ndarray | None = None  # (V, 3) float32 RGB in [0, 1]
    albedo_basis: np.ndarray | None = None  # (A, V, 3) float32
    units: str = "cm"
    source: str = ""
    # (low, high) for expression weights (ICT: blendshapes in [0, 1]); None when the basis is a
    # signed PCA (BFM), whose weights are ~N(0, 1) and get a Gaussian prior instead of bounds.
    expression_bounds: tuple[float, float] | None = (0.0, 1.0)

    @property
    def num_vertices(self) -> int:
        return int(self.mean.shape[0])

    @property
    def num_identity(self) -> int:
        return int(self.identity_basis.shape[0])

    @property
    def num_expression(self) -> int:
        return int(self.expression_basis.shape[0])

    @property
    def gaze_expressions(self) -> np.ndarray:
        """Indices (G,) of gaze shapes (eyeLook*): not observable from 68 landmarks."""
        names = self.expression_names
        return np.array([i for i, n in enumerate(names) if n.startswith("eyeLook")], np.int64)

    def vertices(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """Model-space vertices (V, 3) for identity (K,) and expression (E,) weights."""
        return (
            self.mean
            + np.tensordot(identity, self.identity_basis, axes=(0, 0))
            + np.tensordot(expression, self.expression_basis, axes=(0, 0))
        ).astype(np.float32)
