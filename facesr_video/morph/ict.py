"""Importer for the original ICT-FaceKit layout (FaceXModel/*.obj + vertex_indices.json).

Each shape is a full OBJ mesh; identity and expression bases are the face-region displacements
from generic_neutral_mesh.obj. The face region is vertices 0-9408 (ICT-FaceKit's README lists
the regions as vertex ranges; vertex_indices.json only lists fitting/rigid vertex sets), and its
quads are split into two counter-clockwise triangles (a, b, c), (a, c, d).

vertex_indices.json carries the 68 landmark vertices but not the jaw contour candidates used for
silhouette-aware fitting, so those come from a small table below, derived once from a converted
ict_face_light.npz of the same commit (jawline_*_extended).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel

FACE_REGION_VERTICES = 9409
NEUTRAL_FILE = "generic_neutral_mesh.obj"
INDEX_FILE = "vertex_indices.json"
ICT_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
# Jaw contour candidates (not in the OBJ layout), from ict_face_light.npz jawline_*_extended.
JAW_CONTOUR_RIGHT = (
    1280,
    1278,
    1275,
    1272,
    1248,
    12,
    820,
    1834,
    1902,
    243,
    844,
    781,
    1673,
    2199,
    801,
    1447,
    800,
)
JAW_CONTOUR_LEFT = (
    3041,
    3661,
    3042,
    4390,
    3880,
    3022,
    3085,
    2484,
    4102,
    4036,
    3061,
    2253,
    3466,
    3490,
    3493,
    3496,
    3498,
)
_HINT = "point --from at ICT-FaceKit's FaceXModel folder (OBJ files and vertex_indices.json)"


def identity_file(i: int) -> str:
    return f"identity{i:03d}.obj"


def read_obj_vertices(path: Path) -> np.ndarray:
    """Vertex positions (N, 3) float64 of an OBJ file, in file order."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ModelError(f"cannot read {path} ({error})", _HINT) from error
    rows = [line[2:] for line in text.splitlines() if line.startswith("v ")]
    try:
        return np.array(" ".join(rows).split(), np.float64).reshape(-1, 3)
    except ValueError as error:
        raise ModelError(f"{path} is not an OBJ mesh with x y z vertices", _HINT) from error


def read_obj_mesh(path: Path) -> tuple[np.ndarray, np.ndarray, list[list[int]], list[list[int]]]:
    """Vertices (N, 3), uv (U, 2), and 0-based polygon vertex / uv indices of an OBJ file."""
    vertices = read_obj_vertices(path)
    uv_rows: list[str] = []
    faces: list[list[int]] = []
    faces_uv: list[list[int]] = []
    for line in path.read_text().splitlines():
        if line.startswith("vt "):
            uv_rows.append(" ".join(line.split()[1:3]))
        elif line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            faces.append([int(c[0]) - 1 for c in corners])
            faces_uv.append([int(c[1]) - 1 if len(c) > 1 and c[1] else -1 for c in corners])
    uv = np.array(" ".join(uv_rows).split(), np.float64).reshape(-1, 2)
    return vertices, uv, faces, faces_uv


def displacement_fingerprint(displacement: np.ndarray) -> str:
    """sha256 of a face-region displacement (V, 3) rounded to float16 (as the .npz stores it)."""
    return hashlib.sha256(np.ascontiguousarray(displacement, np.float16).tobytes()).hexdigest()


def _triangulate(
    faces: list[list[int]], faces_uv: list[list[int]], limit: int
) -> tuple[np.ndarray, np.ndarray]:
    tris: list[list[int]] = []
    tris_uv: list[list[int]] = []
    for face, face_uv in zip(faces, faces_uv, strict=True):
        if max(face) >= limit:
            continue
        for k in range(1, len(face) - 1):
            tris.append([face[0], face[k], face[k + 1]])
            tris_uv.append([face_uv[0], face_uv[k], face_uv[k + 1]])
    return np.array(tris, np.int64), np.array(tris_uv, np.int64)


def import_ict_folder(
    folder: Path,
    allow_partial: bool = False,
    fingerprints: dict[str, str] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> FaceModel:
    """Build a FaceModel from an ICT-FaceKit FaceXModel folder.

    allow_partial: accept missing expression OBJs (they are left out of the model), for a local
    copy that holds only some of them. fingerprints: file name -> displacement_fingerprint
    expected; a mismatch raises ModelError. on_file is called with each file name read (progress).
    """
    folder = Path(folder)
    for name in (NEUTRAL_FILE, INDEX_FILE):
        if not (folder / name).is_file():
            raise ModelError(
                f"{folder} is not an ICT-FaceKit model folder: {name} is missing", _HINT
            )
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
        expression_names = [str(x) for x in index["expressions"]]
        landmarks = np.array(index["idx_to_landmark_verts"], np.int64)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{folder / INDEX_FILE}: missing or invalid key {error}", _HINT) from error
    if landmarks.shape != (68,):
        raise ModelError(
            f"{INDEX_FILE}: idx_to_landmark_verts has {landmarks.size} entries, not 68",
            _HINT,
        )

    vertices, uv, faces, faces_uv = read_obj_mesh(folder / NEUTRAL_FILE)
    if on_file:
        on_file(NEUTRAL_FILE)
    n = FACE_REGION_VERTICES
    if vertices.shape[0] < n:
        raise ModelError(
            f"{folder / NEUTRAL_FILE} has {vertices.shape[0]} vertices, expected >= {n}", _HINT
        )
    neutral = vertices[:n]

    def displacement(name: str) -> np.ndarray:
        shape = read_obj_vertices(folder / name)
        if shape.shape[0] != vertices.shape[0]:
            raise ModelError(
                f"{folder / name}: {shape.shape[0]} vertices, neutral mesh {vertices.shape[0]}",
                _HINT,
            )
        delta = shape[:n] - neutral
        expected = None if fingerprints is None else fingerprints.get(name)
        if expected is not None and displacement_fingerprint(delta) != expected:
            raise ModelError(
                f"{folder / name} does not match ICT-FaceKit commit {ICT_COMMIT[:12]}", _HINT
            )
        if on_file:
            on_file(name)
        return delta

    identity: list[np.ndarray] = []
    while (folder / identity_file(len(identity))).is_file():
        identity.append(displacement(identity_file(len(identity))))
    if not identity:
        raise ModelError(f"{folder} has no identity000.obj", _HINT)
    expression: list[np.ndarray] = []
    kept: list[str] = []
    for name in expression_names:
        if not (folder / f"{name}.obj").is_file():
            if allow_partial:
                continue
            raise ModelError(f"{folder} is missing expression {name}.obj", _HINT)
        expression.append(displacement(f"{name}.obj"))
        kept.append(name)
    if not expression:
        raise ModelError(f"{folder} has none of the expression OBJs listed in {INDEX_FILE}", _HINT)
    triangles, triangles_uv = _triangulate(faces, faces_uv, n)
    if (triangles_uv < 0).any():
        uv_opt, triangles_uv_opt = None, None
    else:
        uv_opt, triangles_uv_opt = uv.astype(np.float32), triangles_uv
    contour_right = np.array(JAW_CONTOUR_RIGHT, np.int64)
    contour_left = np.array(JAW_CONTOUR_LEFT, np.int64)
    return FaceModel(
        mean=neutral.astype(np.float32),
        identity_basis=np.stack(identity).astype(np.float32),
        expression_basis=np.stack(expression).astype(np.float32),
        expression_names=tuple(kept),
        triangles=triangles,
        landmarks68=landmarks,
        jaw_contour_right=contour_right,
        jaw_contour_left=contour_left,
        uv=uv_opt,
        triangles_uv=triangles_uv_opt,
        units="cm",
        source=f"ICT-FaceKit FaceXModel from {folder}, face region [0:{n - 1}]; MIT license",
    )
