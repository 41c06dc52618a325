"""Perspective camera in frame pixels, in numpy (fitting) and torch (rendering, batched).

Camera space follows OpenCV: x right, y down, z forward, depth positive. The model has +y up and
+z toward the viewer, so model points are first turned by MODEL_TO_CAMERA (180 degrees about x)
and then by the pose rotation: a zero rotation is a face looking straight into the camera.
Rotations are axis-angle vectors (radians, direction = axis, norm = angle); `euler_degrees`
reports them as (pitch, yaw, roll) for thresholds and figures. Pixel centres are at integer
coordinates, so the principal point of a W x H image is ((W - 1) / 2, (H - 1) / 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MODEL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: focal length and principal point in pixels of a width x height image."""

    focal: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def for_image(cls, width: int, height: int, focal_factor: float = 1.0) -> Camera:
        """Default camera: focal = focal_factor * max(W, H) (about 53 degrees across), centred."""
        return cls(
            focal_factor * max(width, height), (width - 1) / 2.0, (height - 1) / 2.0, width, height
        )


@dataclass(frozen=True)
class Pose:
    """Rigid pose: rotation (3,) axis-angle after MODEL_TO_CAMERA, translation (3,) model units."""

    rotation: np.ndarray
    translation: np.ndarray

    def matrix(self) -> np.ndarray:
        """(3, 3) matrix taking model coordinates to camera coordinates (without translation)."""
        return rotation_matrix(self.rotation) @ MODEL_TO_CAMERA


def skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices (..., 3, 3) of vectors (..., 3)."""
    out = np.zeros(v.shape[:-1] + (3, 3), dtype=v.dtype)
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def rotation_matrix(rotation: np.ndarray) -> np.ndarray:
    """Rodrigues: axis-angle (3,) -> rotation matrix (3, 3)."""
    rotation = np.asarray(rotation, np.float64)
    angle = float(np.linalg.norm(rotation))
    k = skew(rotation)
    if angle < 1e-8:
        return np.eye(3) + k
    a = np.sin(angle) / angle
    b = (1.0 - np.cos(angle)) / angle**2
    return np.eye(3) + a * k + b * (k @ k)


def rotation_vector(matrix: np.ndarray) -> np.ndarray:
    """Inverse of rotation_matrix: (3, 3) -> axis-angle (3,), angle in [0, pi]."""
    cos = np.clip((np.trace(matrix) - 1.0) / 2.0, -1.0, 1.0)
    angle = float(np.arccos(cos))
    axis = np.array(
        [matrix[2, 1] - matrix[1, 2], matrix[0, 2] - matrix[2, 0], matrix[1, 0] - matrix[0, 1]]
    )
    if angle < 1e-8:
        return axis / 2.0
    if np.pi - angle < 1e-5:  # near 180 degrees the antisymmetric part vanishes
        w, v = np.linalg.eigh((matrix + matrix.T) / 2.0)
        return v[:, np.argmax(w)] * angle
    return axis * angle / (2.0 * np.sin(angle))


def euler_degrees(rotation: np.ndarray) -> np.ndarray:
    """(pitch, yaw, roll) in degrees of an axis-angle pose rotation, R = Rz(roll) Ry(yaw) Rx(pitch).

    Pitch turns the face about the camera x axis (nodding), yaw about y (shaking), roll about z.
    """
    m = rotation_matrix(rotation)
    yaw = np.arcsin(np.clip(-m[2, 0], -1.0, 1.0))
    pitch = np.arctan2(m[2, 1], m[2, 2])
    roll = np.arctan2(m[1, 0], m[0, 0])
    return np.degrees(np.array([pitch, yaw, roll]))


def camera_vertices(model_vertices: np.ndarray, pose: Pose) -> np.ndarray:
    """Model-space vertices (V, 3) -> camera-space (V, 3), OpenCV axes, same units."""
    return model_vertices @ pose.matrix().T + np.asarray(pose.translation, np.float64)


def project(cam_vertices: np.ndarray, camera: Camera) -> np.ndarray:
    """Camera-space points (V, 3) -> pixel xy (V, 2)."""
    z = cam_vertices[:, 2:3]
    return camera.focal * cam_vertices[:, :2] / z + np.array([camera.cx, camera.cy])


def rotation_matrix_torch(rotation: torch.Tensor) -> torch.Tensor:
    """Rodrigues, batched and differentiable: axis-angle (B, 3) -> (B, 3, 3)."""
    angle = rotation.norm(dim=-1, keepdim=True).clamp_min(1e-8)  # (B, 1)
    axis = rotation / angle
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).view(-1, 3, 3)
    sin, cos = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=rotation.dtype, device=rotation.device).expand_as(k)
    return eye + sin * k + (1.0 - cos) * (k @ k)


def camera_vertices_torch(
    model_vertices: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor
) -> torch.Tensor:
    """Model-space (B, V, 3), rotation (B, 3) axis-angle, translation (B, 3) -> camera (B, V, 3)."""
    flip = torch.tensor(MODEL_TO_CAMERA, dtype=model_vertices.dtype, device=model_vertices.device)
    matrix = rotation_matrix_torch(rotation.to(model_vertices.dtype)) @ flip  # (B, 3, 3)
    return model_vertices @ matrix.transpose(1, 2) + translation[:, None, :].to(model_vertices)


def project_torch(
    cam_vertices: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor
) -> torch.Tensor:
    """Camera-space (B, V, 3), focal (B,), principal point (B, 2) -> pixel xy (B, V, 2)."""
    xy = cam_vertices[..., :2] / cam_vertices[..., 2:3]
    return focal[:, None, None] * xy + principal[:, None, :]
