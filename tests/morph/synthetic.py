"""Small synthetic model files for importer and install tests (made by the tests, never shipped)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import scipy.io

from facesr_video.morph.ict import FACE_REGION_VERTICES, displacement_fingerprint

NUM_VERTICES = FACE_REGION_VERTICES + 40  # a few non-face vertices, as in the real layout
EXPRESSIONS = ("eyeBlink_L", "jawOpen")


def _obj(path: Path, vertices: np.ndarray, uv: np.ndarray, quads: np.ndarray) -> None:
    lines = ["# synthetic ICT-FaceKit-like mesh"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uv]
    lines += ["f " + " ".join(f"{i + 1}/{i + 1}" for i in quad) for quad in quads]
    path.write_text("\n".join(lines) + "\n")


def write_ict_folder(folder: Path, identities: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Write neutral + identityNNN + EXPRESSIONS OBJs and vertex_indices.json; returns arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    neutral = np.round(rng.normal(0, 5, (NUM_VERTICES, 3)), 6)
    uv = np.round(rng.uniform(0, 1, (NUM_VERTICES, 2)), 6)
    quads = np.array([[i, i + 1, i + 3, i + 2] for i in range(0, 200, 2)])
    quads = np.concatenate([quads, [[NUM_VERTICES - 4, NUM_VERTICES - 3, NUM_VERTICES - 2, 1]]])
    _obj(folder / "generic_neutral_mesh.obj", neutral, uv, quads)
    shapes = {}
    names = [f"identity{i:03d}.obj" for i in range(identities)] + [f"{e}.obj" for e in EXPRESSIONS]
    for name in names:
        shape = np.round(neutral + rng.normal(0, 0.1, neutral.shape), 6)
        _obj(folder / name, shape, uv, quads)
        shapes[name] = shape[:FACE_REGION_VERTICES] - neutral[:FACE_REGION_VERTICES]
    landmarks = rng.choice(FACE_REGION_VERTICES, 68, replace=False)
    index = {"expressions": list(EXPRESSIONS), "idx_to_landmark_verts": landmarks.tolist()}
    (folder / "vertex_indices.json").write_text(json.dumps(index))
    return {"neutral": neutral, "landmarks": landmarks, "quads": quads, "uv": uv, **shapes}


def registry_for(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(file -> sha256, shape file -> displacement fingerprint) of a synthetic folder."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    neutral = _vertices(folder / "generic_neutral_mesh.obj")[:FACE_REGION_VERTICES]
    prints = {
        name: displacement_fingerprint(_vertices(folder / name)[:FACE_REGION_VERTICES] - neutral)
        for name in files
        if name.endswith(".obj") and name != "generic_neutral_mesh.obj"
    }
    return files, prints


def _vertices(path: Path) -> np.ndarray:
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.startswith("v ")]
    return np.array(rows, np.float64)


def write_bfm_mat(path: Path, n: int = 500, seed: int = 0, drop: str | None = None) -> dict:
    """A BFM_model_front.mat-shaped file with n vertices (decimetres, 1-based indices)."""
    rng = np.random.default_rng(seed)
    data = {
        "meanshape": rng.normal(0, 1, (1, 3 * n)),
        "idBase": rng.normal(0, 0.01, (3 * n, 80)),
        "exBase": rng.normal(0, 0.01, (3 * n, 64)),
        "meantex": rng.uniform(0, 255, (1, 3 * n)),
        "texBase": rng.normal(0, 1, (3 * n, 80)),
        "tri": rng.integers(1, n + 1, (2 * n, 3)).astype(np.float64),
        "keypoints": rng.choice(np.arange(1, n + 1), 68, replace=False).astype(np.float64),
    }
    if drop:
        del data[drop]
    scipy.io.savemat(str(path), data)
    return data
