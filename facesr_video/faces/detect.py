"""Face detection with dlib on low-resolution frames, upsampled as the smallest wanted face needs.

dlib's detectors scan a fixed 80x80 window over an image pyramid that only goes down, so a face
smaller than about 80 px is never found at scale 1. The frame is therefore enlarged by
`DLIB_MIN_FACE / min_face` (bilinear, PIL) before detection, within a pixel budget; boxes are
mapped back to frame pixels. Measured (tests/benchmarks/bench_faces.py, congress portraits): with
the default min_face=20 the HOG detector finds faces down to about 20 px box width in the
low-resolution frame; below that recall falls off quickly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from facesr_video.errors import InputError
from facesr_video.faces import model_files

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in frame pixels: pixel edges, so x1 - x0 is the width (centres at integers)."""

DLIB_MIN_FACE = 80.0
"""Box width (px) of the smallest face dlib's detectors find in an image they see at scale 1."""

DETECTORS = ("hog", "cnn")


@dataclass(frozen=True)
class Detection:
    """One detected face: its box in frame pixels and the detector's confidence."""

    box: Box
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


def box_size(box: Box) -> float:
    """Geometric mean of a box's width and height (px)."""
    return math.sqrt(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


class FaceDetector:
    """dlib HOG (default) or CNN (mmod) detector for faces of at least `min_face` px.

    `max_pixels` caps the enlarged image (HOG cost grows with its area); on a frame so large that
    the cap binds, the smallest findable face is `DLIB_MIN_FACE / upsample_for(h, w)`.
    """

    def __init__(
        self,
        kind: str = "hog",
        min_face: float = 20.0,
        max_pixels: int = 3_000_000,
        threshold: float = 0.0,
    ) -> None:
        if kind not in DETECTORS:
            raise InputError(
                f"unknown face detector {kind!r}", f"use one of {', '.join(DETECTORS)}"
            )
        if min_face <= 0:
            raise InputError(f"min_face must be positive, got {min_face}")
        self.kind = kind
        self.min_face = float(min_face)
        self.max_pixels = int(max_pixels)
        self.threshold = float(threshold)
        self._dlib = model_files.hog_detector() if kind == "hog" else model_files.cnn_detector()

    def upsample_for(self, height: int, width: int) -> float:
        """Enlargement applied to a (height, width) frame before detection (>= 1)."""
        wanted = max(1.0, DLIB_MIN_FACE / self.min_face)
        budget = math.sqrt(self.max_pixels / max(height * width, 1))
        return max(1.0, min(wanted, budget))

    def smallest_face(self, height: int, width: int) -> float:
        """Smallest face box width (frame px) findable on a frame of this size."""
        return DLIB_MIN_FACE / self.upsample_for(height, width)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in one frame, down to `smallest_face` px.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.

        Returns:
            detections sorted by decreasing score, boxes in frame pixels.
        """
        _check_frame(rgb)
        return self.detect(rgb, self.upsample_for(*rgb.shape[:2]))

    def detect(
        self,
        rgb: np.ndarray,
        scale: float,
        region: tuple[int, int, int, int] | None = None,
        threshold: float | None = None,
    ) -> list[Detection]:
        """Faces in a region of a frame seen enlarged by `scale` (faces >= DLIB_MIN_FACE / scale).

        The cost grows with the enlarged region's area, so a tracked face is searched for in a
        small window around its predicted box at the scale its size needs, not in the whole
        frame at the scale the smallest face needs.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            scale: enlargement (< 1 shrinks: only bigger faces are then found, faster).
            region: (x0, y0, x1, y1) integer pixel bounds (exclusive end) inside the frame;
                None for the whole frame.
            threshold: score threshold (None: the detector's); lower where a face is expected.

        Returns:
            detections sorted by decreasing score, boxes in frame pixels.
        """
        _check_frame(rgb)
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(width, int(x1)), min(height, int(y1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        crop = rgb[y0:y1, x0:x1]
        cw, ch = x1 - x0, y1 - y0
        big_w, big_h = max(1, round(cw * scale)), max(1, round(ch * scale))
        if min(big_w, big_h) < DLIB_MIN_FACE / 2:
            return []  # too small to hold dlib's window
        if (big_w, big_h) != (cw, ch):
            image = np.asarray(Image.fromarray(crop).resize((big_w, big_h), Image.BILINEAR))
        else:
            image = np.ascontiguousarray(crop)
        sx, sy = big_w / cw, big_h / ch
        threshold = self.threshold if threshold is None else float(threshold)
        found: list[tuple[object, float]] = []
        if self.kind == "hog":
            rects, scores, _ = self._dlib.run(image, 0, threshold)
            found = list(zip(rects, scores, strict=True))
        else:
            found = [(m.rect, float(m.confidence)) for m in self._dlib(image, 0)]
            found = [(r, s) for r, s in found if s >= threshold]
        detections = []
        for rect, score in found:
            # dlib rects are inclusive integer pixel indices; edges are at index -/+ 0.5 in the
            # enlarged crop, whose pixel edges map to frame edges by u / s - 0.5 + origin.
            box = (
                rect.left() / sx - 0.5 + x0,
                rect.top() / sy - 0.5 + y0,
                (rect.right() + 1) / sx - 0.5 + x0,
                (rect.bottom() + 1) / sy - 0.5 + y0,
            )
            detections.append(Detection(box=box, score=float(score)))
        detections.sort(key=lambda d: -d.score)
        return detections


def _check_frame(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
