"""Identity similarity: does the super-resolved face still look like the same person?

Uses dlib's face recognition ResNet (128-d descriptors, trained so that one person's faces lie
within Euclidean distance 0.6). The model files ship in the `face-recognition-models` package
(found by faces/model_files.py without importing it). The descriptor is computed on dlib's own
150x150 face chip, aligned from 5 or 68 landmarks, so the score compares faces, not framing.

Images here are (H, W, 3) uint8 RGB: this is an edge to dlib, like video/.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facesr_video.errors import InputError
from facesr_video.faces.model_files import model_path
from facesr_video.faces.model_files import models_dir as face_models_dir

RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS5_FILE = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_SIZE = 128
SAME_PERSON_DISTANCE = 0.6  # dlib's documented threshold on the Euclidean distance

Box = tuple[float, float, float, float]  # (left, top, right, bottom) pixels


def _check_image(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(
            f"identity needs an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}",
            "convert the face crop to 8-bit RGB first",
        )
    return np.ascontiguousarray(image)


class IdentityEncoder:
    """dlib's 128-d face descriptor for a face given by a box or by landmarks.

    Loading takes a few hundred milliseconds; make one encoder and reuse it.
    """

    def __init__(
        self, models_dir: Path | None = None, num_jitters: int = 0, padding: float = 0.25
    ) -> None:
        import dlib

        folder = models_dir if models_dir is not None else face_models_dir()
        self._dlib = dlib
        self._recognizer = dlib.face_recognition_model_v1(str(model_path(RECOGNITION_FILE, folder)))
        self._predictor5 = dlib.shape_predictor(str(model_path(LANDMARKS5_FILE, folder)))
        self.num_jitters = num_jitters
        self.padding = padding

    def _shape(self, image: np.ndarray, landmarks: np.ndarray | None, box: Box | None) -> Any:
        dlib = self._dlib
        if landmarks is not None:
            points = np.asarray(landmarks, dtype=np.float64)
            if points.shape not in ((68, 2), (5, 2)):
                raise ValueError(f"landmarks must be (68, 2) or (5, 2), got {points.shape}")
            left, top = points.min(axis=0)
            right, bottom = points.max(axis=0)
            rect = dlib.rectangle(int(left), int(top), int(np.ceil(right)), int(np.ceil(bottom)))
            parts = [dlib.point(int(round(x)), int(round(y))) for x, y in points]
            return dlib.full_object_detection(rect, parts)
        if box is None:
            height, width = image.shape[:2]
            box = (0.0, 0.0, float(width - 1), float(height - 1))
        left, top, right, bottom = (int(round(v)) for v in box)
        return self._predictor5(image, dlib.rectangle(left, top, right, bottom))

    def describe(
        self,
        image: np.ndarray,
        *,
        landmarks: np.ndarray | None = None,
        box: Box | None = None,
    ) -> np.ndarray:
        """Descriptor of one face.

        Args:
            image: (H, W, 3) uint8 RGB.
            landmarks: optional (68, 2) or (5, 2) points (x, y) in dlib's order; preferred, so
                that the output of a method and the original are aligned the same way.
            box: optional (left, top, right, bottom); dlib's 5-point model finds the landmarks in
                it. With neither, the whole image is taken as the face box (a tight face crop).

        Returns:
            (128,) float32 descriptor.
        """
        image = _check_image(image)
        shape = self._shape(image, landmarks, box)
        vector = self._recognizer.compute_face_descriptor(
            image, shape, self.num_jitters, self.padding
        )
        return np.asarray(vector, dtype=np.float32)

    def describe_many(
        self,
        images: Sequence[np.ndarray],
        landmarks: Sequence[np.ndarray | None] | None = None,
        boxes: Sequence[Box | None] | None = None,
    ) -> np.ndarray:
        """Descriptors of several faces, one per image: (N, 128) float32."""
        count = len(images)
        landmarks = landmarks if landmarks is not None else [None] * count
        boxes = boxes if boxes is not None else [None] * count
        if not count:
            return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        return np.stack(
            [
                self.describe(image, landmarks=points, box=box)
                for image, points, box in zip(images, landmarks, boxes, strict=True)
            ]
        )


def identity_similarity(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray | float:
    """Cosine similarity of descriptors: 1 for the same direction.

    Args:
        desc_a, desc_b: (128,) or (N, 128) descriptors (broadcast against each other).

    Returns:
        A float for two single descriptors, else (N,) float64.
    """
    a = np.asarray(desc_a, dtype=np.float64)
    b = np.asarray(desc_b, dtype=np.float64)
    cosine = (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return float(cosine) if np.ndim(cosine) == 0 else cosine


def identity_distance(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray | float:
    """Euclidean distance of descriptors; dlib calls under 0.6 the same person.

    Args:
        desc_a, desc_b: (128,) or (N, 128) descriptors.

    Returns:
        A float for two single descriptors, else (N,) float64.
    """
    diff = np.asarray(desc_a, dtype=np.float64) - np.asarray(desc_b, dtype=np.float64)
    distance = np.linalg.norm(diff, axis=-1)
    return float(distance) if np.ndim(distance) == 0 else distance
