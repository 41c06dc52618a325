"""Where dlib's model files live, and the dlib objects loaded from them once per process.

The files ship in the `face-recognition-models` package. Its `__init__` imports pkg_resources
(gone from recent setuptools), so the package folder is found with importlib's spec instead of an
import.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from facesr_video.errors import ModelError

PACKAGE = "face_recognition_models"
HOG = "hog"
CNN_FILE = "mmod_human_face_detector.dat"
LANDMARKS68_FILE = "shape_predictor_68_face_landmarks.dat"
LANDMARKS5_FILE = "shape_predictor_5_face_landmarks.dat"

_INSTALL_HINT = "install it with: pip install face-recognition-models"


def models_dir() -> Path:
    """The folder holding the package's .dat files (no import of the package itself)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError("the face-recognition-models package is not installed", _INSTALL_HINT)
    folder = Path(spec.origin).parent / "models"
    if not folder.is_dir():
        raise ModelError(f"face-recognition-models has no models folder at {folder}", _INSTALL_HINT)
    return folder


def model_path(filename: str, folder: Path | None = None) -> Path:
    """Path of one model file (in `folder`, default the package's), or a ModelError."""
    path = (folder if folder is not None else models_dir()) / filename
    if not path.is_file():
        raise ModelError(f"dlib model file missing: {path}", "reinstall face-recognition-models")
    return path


@cache
def hog_detector() -> Any:
    """dlib's frontal HOG face detector (built into dlib, no file needed)."""
    import dlib

    return dlib.get_frontal_face_detector()


@cache
def cnn_detector() -> Any:
    """dlib's MMOD CNN face detector (slow on a CPU, more robust to pose)."""
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path(CNN_FILE)))


@cache
def shape_predictor68() -> Any:
    """dlib's 68-point shape predictor (iBUG 300-W: non-commercial use only)."""
    import dlib

    return dlib.shape_predictor(str(model_path(LANDMARKS68_FILE)))
