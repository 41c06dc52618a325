"""Mirroring a training sample so its priors still describe the mirrored face.

A horizontal flip of the crop is the mirror image of the scene (x -> -x in camera space), so the
priors must change meaning with it, as BasicSR negates optical flow on a flip:

- maps: flipped left-right, and `normal_x` negated (the other channels are mirror-symmetric:
  shaded render, depth, coverage, and part labels that do not tell left from right);
- identity: the weights that reproduce the model's own mirror image (vertices reflected in the
  model's x = 0 plane and re-paired with their mirror partners), a (K, K) matrix solved once by
  least squares from the basis (close to a diagonal of +-1 for a symmetric model);
- expression: left/right blendshapes swapped by name (`*_L` <-> `*_R`, `*Left` <-> `*Right`);
- pose: rotation R -> F R F with F = diag(-1, 1, 1), i.e. axis-angle (x, -y, -z); translation
  x negated (the flip is about the crop's centre; the small shift from the principal point is
  not corrected);
- lighting: the SH terms odd in x (Y11 = x, Y2-2 = xy, Y21 = xz; morph/sh.py's order) negated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from facesr_video.morph.face_model import FaceModel

_SWAPS = (("_L", "_R"), ("_R", "_L"), ("Left", "Right"), ("Right", "Left"))
_POSE_SIGNS = {"rot_x": 1.0, "rot_y": -1.0, "rot_z": -1.0, "trans_x": -1.0}
_SH_ODD_IN_X = (3, 4, 7)


def mirror_name(name: str) -> str:
    """The blendshape name of the other side (`eyeBlink_L` -> `eyeBlink_R`); others unchanged."""
    for suffix, other in _SWAPS:
        if name.endswith(suffix):
            return name[: -len(suffix)] + other
    return name


def mirror_partners(vertices: np.ndarray) -> np.ndarray:
    """(V,) index of each vertex's mirror partner (nearest vertex to its reflection in x = 0).

    vertices: (V, 3) of a left-right symmetric mesh in model space.
    """
    reflected = np.asarray(vertices, np.float64) * np.array([-1.0, 1.0, 1.0])
    _, partner = cKDTree(np.asarray(vertices, np.float64)).query(reflected)
    return partner.astype(np.int64)


def identity_mirror_matrix(model: FaceModel) -> np.ndarray:
    """(K, K) M with basis @ (M @ w) ~ mirror(basis @ w) for identity weights w."""
    partner = mirror_partners(model.mean)
    basis = np.asarray(model.identity_basis, np.float64)  # (K, V, 3)
    mirrored = basis[:, partner, :] * np.array([-1.0, 1.0, 1.0])
    flat, flat_mirrored = basis.reshape(len(basis), -1).T, mirrored.reshape(len(basis), -1).T
    # flat @ M ~ flat_mirrored, so mirror(flat @ w) = flat_mirrored @ w ~ flat @ (M @ w).
    solution, *_ = np.linalg.lstsq(flat, flat_mirrored, rcond=None)
    return solution.astype(np.float32)


@dataclass(frozen=True)
class CoefficientMirror:
    """Maps a coefficient vector (layout order) to that of the mirrored face: w' = A @ w.

    matrix: (D, D) float32, block-diagonal (identity matrix, expression permutation, signs).
    """

    matrix: np.ndarray

    def __call__(self, coeffs: np.ndarray) -> np.ndarray:
        """coeffs (..., D) -> (..., D) float32."""
        return (np.asarray(coeffs, np.float32) @ self.matrix.T).astype(np.float32)


def coefficient_mirror(names: tuple[str, ...], model: FaceModel | None) -> CoefficientMirror:
    """The mirror of a layout's coefficient vector. `model` is needed for identity weights."""
    size = len(names)
    matrix = np.zeros((size, size), np.float32)
    index = {name: i for i, name in enumerate(names)}
    identity = [i for i, n in enumerate(names) if n.startswith("id_")]
    if identity:
        if model is None or model.num_identity != len(identity):
            raise ValueError(
                f"mirroring {len(identity)} identity weights needs the face model they came from"
            )
        block = identity_mirror_matrix(model)
        matrix[np.ix_(identity, identity)] = block
    for i, name in enumerate(names):
        if name.startswith("id_"):
            continue
        if name.startswith("exp_"):
            matrix[i, index.get("exp_" + mirror_name(name[4:]), i)] = 1.0
        elif name.startswith("sh_"):
            band = int(name.split("_")[1])
            matrix[i, i] = -1.0 if band in _SH_ODD_IN_X else 1.0
        else:
            matrix[i, i] = _POSE_SIGNS.get(name, 1.0)
    return CoefficientMirror(matrix)


def mirror_maps(priors: np.ndarray, channel_names: tuple[str, ...]) -> np.ndarray:
    """priors (C, H, W) -> the mirrored face's maps: flipped in W, `normal_x` negated."""
    flipped = np.ascontiguousarray(priors[:, :, ::-1])
    if "normal_x" in channel_names:
        flipped[channel_names.index("normal_x")] *= -1
    return flipped
