"""Importer for a user's Basel Face Model as Deep3DFaceRecon's BFM_model_front.mat.

Layout: meanshape (1, 3N), idBase (3N, 80), exBase (3N, 64), meantex (1, 3N) in 0-255,
texBase (3N, 80), tri (F, 3) 1-based, keypoints (68,) 1-based, decimetres. Converted to
centimetres so fitting defaults hold for every model. Its expression basis is a signed PCA, so the
model carries expression_bounds=None (Gaussian prior, no [0, 1] box) and generic names. BFM has no
jaw contour candidates: each jaw landmark is its own single candidate. Never shipped or fetched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel

DECIMETRE_TO_CM = 10.0
_KEYS = ("meanshape", "idBase", "exBase", "tri", "keypoints")
_HINT = "expected Deep3DFaceRecon's BFM_model_front.mat (meanshape, idBase, exBase, tri, keypoints)"


def _basis(mat: dict, key: str, rows: int) -> np.ndarray:
    array = np.asarray(mat[key], np.float64)
    if array.ndim != 2 or array.shape[0] != rows:
        raise ModelError(f"BFM key '{key}' has shape {array.shape}, expected ({rows}, K)", _HINT)
    return array.T.reshape(array.shape[1], rows // 3, 3)


def import_bfm_mat(path: Path) -> FaceModel:
    """Read BFM_model_front.mat into a FaceModel (centimetres, 0-based indices)."""
    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except (OSError, ValueError, TypeError) as error:
        raise ModelError(f"cannot read {path} as a MATLAB .mat file ({error})", _HINT) from error
    for key in _KEYS:
        if key not in mat:
            raise ModelError(f"BFM file {path}: key '{key}' is missing", _HINT)
    mean = np.asarray(mat["meanshape"], np.float64).reshape(-1)
    if mean.size % 3:
        raise ModelError(f"BFM key 'meanshape' has {mean.size} values, not a multiple of 3", _HINT)
    rows = mean.size
    n = rows // 3
    identity = _basis(mat, "idBase", rows)
    expression = _basis(mat, "exBase", rows)
    tri = np.asarray(mat["tri"], np.int64)
    if tri.ndim != 2 or tri.shape[1] != 3 or tri.min() < 1 or tri.max() > n:
        raise ModelError(f"BFM key 'tri' must be (F, 3) 1-based indices into {n} vertices", _HINT)
    keypoints = np.asarray(mat["keypoints"], np.int64).reshape(-1)
    if keypoints.shape != (68,) or keypoints.min() < 1 or keypoints.max() > n:
        raise ModelError(
            f"BFM key 'keypoints' must be 68 1-based vertex indices, got {keypoints.shape}", _HINT
        )
    landmarks = keypoints - 1
    albedo_mean = albedo_basis = None
    if "meantex" in mat and "texBase" in mat:
        albedo_mean = (np.asarray(mat["meantex"], np.float64).reshape(n, 3) / 255.0).astype(
            np.float32
        )
        albedo_basis = (_basis(mat, "texBase", rows) / 255.0).astype(np.float32)
    return FaceModel(
        mean=(mean.reshape(n, 3) * DECIMETRE_TO_CM).astype(np.float32),
        identity_basis=(identity * DECIMETRE_TO_CM).astype(np.float32),
        expression_basis=(expression * DECIMETRE_TO_CM).astype(np.float32),
        expression_names=tuple(f"bfm_exp{i:02d}" for i in range(expression.shape[0])),
        triangles=tri - 1,
        landmarks68=landmarks,
        jaw_contour_right=landmarks[0:8].copy(),
        jaw_contour_left=landmarks[9:17].copy(),
        albedo_mean=albedo_mean,
        albedo_basis=albedo_basis,
        units="cm",
        source=f"Basel Face Model (user's copy) from {path.name}; BFM licence applies",
        expression_bounds=None,
    )
