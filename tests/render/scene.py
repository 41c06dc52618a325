"""Place the real ICT face in front of a pinhole camera, for render tests and benchmarks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.formats import load_face_model

_LOADED: dict[Path, FaceModel] = {}


def load_model(path: Path) -> FaceModel:
    """The face model at path, loaded once per test run."""
    if path not in _LOADED:
        _LOADED[path] = load_face_model(path)
    return _LOADED[path]


def face_scene(
    model: FaceModel, size: int, yaws_deg: tuple[float, ...] = (0.0,), distance: float = 60.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean face turned by each yaw, 60 cm from the camera, filling a size x size crop.

    Model space (+y up, +z to the viewer) becomes OpenCV camera space by a yaw about the model's
    y axis, then a 180 degree turn about x (y down, z forward), then a push to `distance`.

    Returns:
        cam_vertices (B, V, 3) and screen_xy (B, V, 2), B = len(yaws_deg).
    """
    mean = torch.as_tensor(np.asarray(model.mean), dtype=torch.float32)
    height = float(mean[:, 1].max() - mean[:, 1].min())
    focal = 0.95 * size * distance / height
    centre_y = float(mean[:, 1].max() + mean[:, 1].min()) / 2
    cams, xys = [], []
    for yaw in yaws_deg:
        c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
        turn = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        v = (mean - torch.tensor([0.0, centre_y, 0.0])) @ turn.T
        cam = v * torch.tensor([1.0, -1.0, -1.0]) + torch.tensor([0.0, 0.0, distance])
        xy = focal * cam[:, :2] / cam[:, 2:3] + (size - 1) / 2
        cams.append(cam)
        xys.append(xy)
    return torch.stack(cams), torch.stack(xys)
