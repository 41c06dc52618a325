"""Where a detection pass looks for faces: windows around tracked faces, and merging what is found.

A tracked face's size is known, so it is searched for in a small window around its predicted box,
enlarged just enough for dlib's 80 px window to fit a face somewhat smaller than predicted. That
costs a few milliseconds where a whole-frame scan at the smallest face's enlargement costs
hundreds on 640x480.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facesr_video.faces.detect import Box, Detection
from facesr_video.faces.track import iou_matrix


def search_window(
    box: Box,
    frame_shape: tuple[int, int],
    margin: float,
    face_px: float,
    max_scale: float,
) -> tuple[tuple[int, int, int, int] | None, float]:
    """Integer window around a detector-style box and the enlargement to search it at.

    Args:
        box: (x0, y0, x1, y1) predicted detector-style box, frame pixels.
        frame_shape: (height, width) of the frame.
        margin: context added on every side, in box sizes (covers motion and size error).
        face_px: the box is enlarged to about this width (above dlib's 80 px window, so faces
            down to 80 / face_px of the predicted size are found; bigger ones on the pyramid).
        max_scale: never enlarge more than the full scan does.

    Returns:
        ((x0, y0, x1, y1) pixel bounds with exclusive end, clipped to the frame; None when the
        window misses the frame), scale.
    """
    height, width = frame_shape
    w, h = box[2] - box[0], box[3] - box[1]
    size = max(float(np.sqrt(max(w, 1.0) * max(h, 1.0))), 1.0)
    scale = min(face_px / size, max_scale)
    x0 = max(0, int(np.floor(box[0] - margin * size)))
    y0 = max(0, int(np.floor(box[1] - margin * size)))
    x1 = min(width, int(np.ceil(box[2] + margin * size)) + 1)
    y1 = min(height, int(np.ceil(box[3] + margin * size)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None, scale
    return (x0, y0, x1, y1), scale


def merge_detections(detections: Sequence[Detection], max_iou: float = 0.4) -> list[Detection]:
    """Non-maximum suppression: of boxes overlapping by more than `max_iou`, the best score stays.

    The same face is often found by the cheap pass and by its track's window (or by two
    neighbouring windows).

    Returns:
        the kept detections, by decreasing score.
    """
    ordered = sorted(detections, key=lambda d: -d.score)
    kept: list[Detection] = []
    for det in ordered:
        if kept and iou_matrix([k.box for k in kept], [det.box]).max() > max_iou:
            continue
        kept.append(det)
    return kept
