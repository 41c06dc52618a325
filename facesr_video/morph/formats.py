"""The project's face model file: one .npz, validated on load so a bad file fails with its key.

Schema (that of the converted ICT-FaceKit Light model, plus optional albedo and a version):
vertices_mean (V,3) float; identity_basis (K,V,3) float; expression_basis (E,V,3) float;
expression_names (E,) str; triangles (F,3) int; landmarks68 (68,) int; jawline_right_extended,
jawline_left_extended (C,) int; optional uv (U,2), triangles_uv (F,3), albedo_mean (V,3),
albedo_basis (A,V,3), expression_bounds (2,) float or (0,) for unbounded, units, source,
format_version. Bases may be float16 on disk; in memory everything is float32 / int64.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "vertices_mean",
    "identity_basis",
    "expression_basis",
    "expression_names",
    "triangles",
    "landmarks68",
    "jawline_right_extended",
    "jawline_left_extended",
)
_HINT = "re-create it with `facesr-video models install` or `models install --from DIR_OR_FILE`"


def _bad(path: Path, key: str, why: str) -> ModelError:
    return ModelError(f"face model {path}: key '{key}' {why}", _HINT)


def _float(data: dict, path: Path, key: str, shape: tuple[int | None, ...]) -> np.ndarray:
    array = data[key]
    if array.dtype.kind != "f":
        raise _bad(path, key, f"has dtype {array.dtype}, expected float")
    if array.ndim != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, array.shape, strict=True)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise _bad(path, key, f"has shape {array.shape}, expected {want}")
    if not np.isfinite(array).all():
        raise _bad(path, key, "contains NaN or infinite values")
    return np.ascontiguousarray(array, dtype=np.float32)


def _index(
    data: dict, path: Path, key: str, shape: tuple[int | None, ...], bound: int
) -> np.ndarray:
    array = data[key]
    if array.dtype.kind not in "iu":
        raise _bad(path, key, f"has dtype {array.dtype}, expected integer indices")
    if array.ndim != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, array.shape, strict=True)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise _bad(path, key, f"has shape {array.shape}, expected {want}")
    if array.size and (array.min() < 0 or array.max() >= bound):
        raise _bad(path, key, f"has indices outside [0, {bound})")
    return array.astype(np.int64)


def load_face_model(path: str | os.PathLike[str]) -> FaceModel:
    """Read and validate a face model .npz; ModelError names the missing or wrong key."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"face model not found: {path}", _HINT)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        # numpy's own words (pickles, allow_pickle) would mislead: the file is simply not ours
        raise ModelError(f"not a face model file: {path} (not a readable .npz)", _HINT) from error
    if not any(key in data for key in REQUIRED_KEYS):
        raise ModelError(f"not a face model file: {path} (an .npz without its keys)", _HINT)
    for key in REQUIRED_KEYS:
        if key not in data:
            raise _bad(path, key, "is missing")
    version = int(data["format_version"]) if "format_version" in data else FORMAT_VERSION
    if version > FORMAT_VERSION:
        raise _bad(
            path, "format_version", f"is {version}; this facesr-video reads <= {FORMAT_VERSION}"
        )
    mean = _float(data, path, "vertices_mean", (None, 3))
    n = mean.shape[0]
    identity = _float(data, path, "identity_basis", (None, n, 3))
    expression = _float(data, path, "expression_basis", (None, n, 3))
    names = data["expression_names"]
    if names.dtype.kind not in "US" or names.shape != (expression.shape[0],):
        raise _bad(path, "expression_names", f"must be {expression.shape[0]} strings")
    triangles = _index(data, path, "triangles", (None, 3), n)
    uv = triangles_uv = None
    if "uv" in data:
        uv = _float(data, path, "uv", (None, 2))
        if "triangles_uv" not in data:
            raise _bad(path, "triangles_uv", "is missing (uv is present)")
        triangles_uv = _index(data, path, "triangles_uv", (triangles.shape[0], 3), uv.shape[0])
    albedo_mean = albedo_basis = None
    if "albedo_mean" in data:
        albedo_mean = _float(data, path, "albedo_mean", (n, 3))
    if "albedo_basis" in data:
        if albedo_mean is None:
            raise _bad(path, "albedo_mean", "is missing (albedo_basis is present)")
        albedo_basis = _float(data, path, "albedo_basis", (None, n, 3))
    bounds: tuple[float, float] | None = (0.0, 1.0)
    if "expression_bounds" in data:
        raw = np.asarray(data["expression_bounds"], np.float64).reshape(-1)
        if raw.size == 0:
            bounds = None
        elif raw.size == 2 and raw[0] < raw[1]:
            bounds = (float(raw[0]), float(raw[1]))
        else:
            raise _bad(path, "expression_bounds", "must be (low, high) with low < high, or empty")
    return FaceModel(
        mean=mean,
        identity_basis=identity,
        expression_basis=expression,
        expression_names=tuple(str(x) for x in names),
        triangles=triangles,
        landmarks68=_index(data, path, "landmarks68", (68,), n),
        jaw_contour_right=_index(data, path, "jawline_right_extended", (None,), n),
        jaw_contour_left=_index(data, path, "jawline_left_extended", (None,), n),
        uv=uv,
        triangles_uv=triangles_uv,
        albedo_mean=albedo_mean,
        albedo_basis=albedo_basis,
        units=str(data["units"]) if "units" in data else "cm",
        source=str(data["source"]) if "source" in data else "",
        expression_bounds=bounds,
    )


def save_face_model(model: FaceModel, path: str | os.PathLike[str], half: bool = True) -> Path:
    """Write model as the project's .npz (bases as float16 when half), atomically."""
    path = Path(path)
    basis_dtype = np.float16 if half else np.float32
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, np.int32),
        "vertices_mean": model.mean.astype(np.float32),
        "identity_basis": model.identity_basis.astype(basis_dtype),
        "expression_basis": model.expression_basis.astype(basis_dtype),
        "expression_names": np.array(model.expression_names, dtype=str).reshape(-1),
        "triangles": model.triangles.astype(np.int32),
        "landmarks68": model.landmarks68.astype(np.int32),
        "jawline_right_extended": model.jaw_contour_right.astype(np.int32),
        "jawline_left_extended": model.jaw_contour_left.astype(np.int32),
        "expression_bounds": np.array(model.expression_bounds or (), np.float32),
        "units": np.array(model.units),
        "source": np.array(model.source),
    }
    if model.uv is not None and model.triangles_uv is not None:
        arrays["uv"] = model.uv.astype(np.float32)
        arrays["triangles_uv"] = model.triangles_uv.astype(np.int32)
    if model.albedo_mean is not None:
        arrays["albedo_mean"] = model.albedo_mean.astype(np.float32)
    if model.albedo_basis is not None:
        arrays["albedo_basis"] = model.albedo_basis.astype(basis_dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
