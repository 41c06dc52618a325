"""Facial-part labels per vertex, derived from the model's 68-landmark layout.

No model ships part labels, but every model we read carries the vertices of the iBUG 68 landmarks.
The mean shape is seen frontally (x, y), and a vertex takes the label of the landmark polygon that
contains it: brows (17-21, 22-26 thickened into bands), eyes (36-41, 42-47, enlarged to the
lids), nose (hull of 27-35 with the bridge and nostril wings widened), lips (outer contour 48-59,
enlarged a little). Every other vertex is skin. Only vertices facing forward (normal z > 0.2 in
model space) can take a part label, so nothing on the sides is mislabelled. Cached per model.
"""

from __future__ import annotations

import weakref

import numpy as np

from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.mesh import vertex_normals_np

BACKGROUND, SKIN, BROWS, EYES, NOSE, LIPS = range(6)
PART_NAMES: tuple[str, ...] = ("background", "skin", "brows", "eyes", "nose", "lips")

_CACHE: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Points (N, 2) inside a closed polygon (M, 2) -> (N,) bool."""
    from matplotlib.path import Path as PolygonPath  # imported here: slow, needed once per model

    return PolygonPath(polygon).contains_points(points)


def _scaled(polygon: np.ndarray, factor: float) -> np.ndarray:
    """Polygon (M, 2) scaled about its centroid."""
    centre = polygon.mean(0)
    return centre + (polygon - centre) * factor


def _band(polyline: np.ndarray, half_width: float) -> np.ndarray:
    """A closed polygon (2M, 2) around a roughly horizontal polyline (M, 2), half_width thick."""
    up = polyline + np.array([0.0, half_width])
    down = polyline - np.array([0.0, half_width])
    return np.concatenate([up, down[::-1]], 0)


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (M, 2) of points (N, 2), counter-clockwise."""
    from scipy.spatial import ConvexHull

    return points[ConvexHull(points).vertices]


def part_labels(model: FaceModel) -> np.ndarray:
    """Part label per vertex of the model's mean shape.

    Returns:
        (V,) int64 in {SKIN, BROWS, EYES, NOSE, LIPS} (BACKGROUND is for pixels, never vertices).
    """
    key = id(model)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is model:
        return hit[1]
    labels = _compute_labels(model)
    labels.setflags(write=False)
    _CACHE[key] = (weakref.ref(model), labels)
    return labels


def _compute_labels(model: FaceModel) -> np.ndarray:
    mean = np.asarray(model.mean, np.float64)
    xy = mean[:, :2]
    lm = xy[np.asarray(model.landmarks68)]
    inter_ocular = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))
    front = vertex_normals_np(mean, model.triangles)[:, 2] > 0.2

    labels = np.full(mean.shape[0], SKIN, np.int64)
    brow_half = 0.09 * inter_ocular
    # The nostril wings reach past landmarks 31 and 35: widen the base about the tip (33).
    wings = lm[33] + (lm[[31, 35]] - lm[33]) * 1.4
    raised = wings + np.array([0.0, 0.6 * float(lm[30, 1] - lm[33, 1])])
    nose = np.concatenate(
        [
            lm[31:36],
            wings,
            raised,
            lm[27:31] + np.array([0.12 * inter_ocular, 0.0]),
            lm[27:31] - np.array([0.12 * inter_ocular, 0.0]),
        ]
    )
    regions = [
        (NOSE, _hull(nose)),
        (BROWS, _band(lm[17:22], brow_half)),
        (BROWS, _band(lm[22:27], brow_half)),
        (EYES, _scaled(lm[36:42], 1.4)),
        (EYES, _scaled(lm[42:48], 1.4)),
        (LIPS, _scaled(lm[48:60], 1.12)),
    ]
    for label, polygon in regions:
        labels[front & _inside(xy, polygon)] = label
    return labels


def part_one_hot(model: FaceModel) -> np.ndarray:
    """One-hot vertex labels, no background: (V, 5) float32 for skin, brows, eyes, nose, lips."""
    labels = part_labels(model)
    return np.eye(len(PART_NAMES), dtype=np.float32)[labels][:, 1:]
