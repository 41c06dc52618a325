"""68-point facial landmarks (dlib's shape predictor) on small faces, and the 5 points from them.

dlib returns landmarks as integer pixels of the image it sees, which on a 30 px face is a
quantisation of several percent of the face. So the face region is cut out and enlarged to about
`work_size` px (bicubic) before prediction, and the points are mapped back with the exact
pixel-centre convention; on faces already that large nothing is resampled.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from facesr_video.faces import model_files
from facesr_video.faces.detect import Box

WORK_SIZE = 160.0
"""Face box width (px) the predictor sees: small faces are enlarged to this before prediction."""

MARGIN = 0.5
"""Context kept around the box when cutting it out, as a fraction of the box size."""

# dlib's iBUG-68 index ranges.
JAW = slice(0, 17)
RIGHT_EYE = slice(36, 42)  # the subject's right eye: image left on a frontal face
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
MOUTH_RIGHT = 48
MOUTH_LEFT = 54


def predict_landmarks(rgb: np.ndarray, box: Box, work_size: float = WORK_SIZE) -> np.ndarray:
    """68 landmarks of the face in `box`.

    Args:
        rgb: (H, W, 3) uint8 RGB frame.
        box: (x0, y0, x1, y1) detector-style face box in frame pixels.
        work_size: enlarge the face so its box is about this wide before prediction (0: never).

    Returns:
        (68, 2) float32 (x, y) in frame pixels, dlib's iBUG-68 order.
    """
    import dlib

    height, width = rgb.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    scale = max(1.0, work_size / max(bw, 1e-6)) if work_size > 0 else 1.0
    # Integer crop window (pixel indices) around the box, clipped to the frame.
    cx0 = max(0, int(np.floor(box[0] - MARGIN * bw)))
    cy0 = max(0, int(np.floor(box[1] - MARGIN * bh)))
    cx1 = min(width, int(np.ceil(box[2] + MARGIN * bw)) + 1)
    cy1 = min(height, int(np.ceil(box[3] + MARGIN * bh)) + 1)
    if cx1 - cx0 < 2 or cy1 - cy0 < 2:  # box entirely off the frame: place it on the border
        cx0, cy0, cx1, cy1 = 0, 0, width, height
    crop = rgb[cy0:cy1, cx0:cx1]
    cw, ch = crop.shape[1], crop.shape[0]
    big_w, big_h = max(1, round(cw * scale)), max(1, round(ch * scale))
    sx, sy = big_w / cw, big_h / ch
    if (big_w, big_h) != (cw, ch):
        image = np.asarray(Image.fromarray(crop).resize((big_w, big_h), Image.BICUBIC))
    else:
        image = np.ascontiguousarray(crop)
    # Box edges -> enlarged-crop pixel indices (centre convention: u = s * (x + 0.5) - 0.5).
    rect = dlib.rectangle(
        round(sx * (box[0] - cx0)),
        round(sy * (box[1] - cy0)),
        round(sx * (box[2] - cx0)) - 1,
        round(sy * (box[3] - cy0)) - 1,
    )
    shape = model_files.shape_predictor68()(image, rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    points[:, 0] = (points[:, 0] + 0.5) / sx - 0.5 + cx0
    points[:, 1] = (points[:, 1] + 0.5) / sy - 0.5 + cy0
    return points.astype(np.float32)


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """The usual 5 points: eye centres, nose tip, mouth corners.

    Args:
        landmarks68: (68, 2) or (B, 68, 2) points.

    Returns:
        (5, 2) or (B, 5, 2): right eye, left eye, nose tip, right and left mouth corner (the
        subject's right first, as in the common ArcFace/InsightFace layout).
    """
    pts = np.asarray(landmarks68)
    return np.stack(
        [
            pts[..., RIGHT_EYE, :].mean(axis=-2),
            pts[..., LEFT_EYE, :].mean(axis=-2),
            pts[..., NOSE_TIP, :],
            pts[..., MOUTH_RIGHT, :],
            pts[..., MOUTH_LEFT, :],
        ],
        axis=-2,
    ).astype(pts.dtype)


def inter_ocular(landmarks68: np.ndarray) -> float:
    """Distance between the two eye centres (px) of a (68, 2) landmark set."""
    pts = np.asarray(landmarks68, dtype=np.float64)
    return float(np.linalg.norm(pts[RIGHT_EYE].mean(0) - pts[LEFT_EYE].mean(0)))


def landmark_box(landmarks68: np.ndarray) -> Box:
    """Bounding box (pixel edges) of a (68, 2) landmark set."""
    pts = np.asarray(landmarks68, dtype=np.float64)
    x0, y0 = pts.min(axis=0) - 0.5
    x1, y1 = pts.max(axis=0) + 0.5
    return (float(x0), float(y0), float(x1), float(y1))


# Where dlib's HOG detector puts its box relative to the landmarks' bounding box (centre offset
# and size, in units of the landmark box), measured on whitehouse/wh_obama_01 (std ~0.015): the
# shape predictor was trained on such boxes, so a box predicted by the tracker is turned into one.
_BOX_OFFSET = (0.031, -0.143)
_BOX_SCALE = (1.040, 0.985)


def predictor_box(landmark_box_: Box) -> Box:
    """Detector-style box for a face whose landmarks' bounding box is `landmark_box_`."""
    x0, y0, x1, y1 = landmark_box_
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + _BOX_OFFSET[0] * w
    cy = (y0 + y1) / 2 + _BOX_OFFSET[1] * h
    hw, hh = _BOX_SCALE[0] * w / 2, _BOX_SCALE[1] * h / 2
    return (cx - hw, cy - hh, cx + hw, cy + hh)
