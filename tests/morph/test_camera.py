"""Camera conventions, numpy/torch agreement, and rotation round trips."""

from __future__ import annotations

import numpy as np
import torch

from facesr_video.morph.camera import (
    Camera,
    Pose,
    camera_vertices,
    camera_vertices_torch,
    euler_degrees,
    project,
    project_torch,
    rotation_matrix,
    rotation_vector,
)


def test_frontal_face_looks_at_the_camera():
    # model: +y up, +z toward the viewer; camera: y down, z forward
    pose = Pose(np.zeros(3), np.array([0.0, 0.0, 50.0]))
    points = np.array([[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    cam = camera_vertices(points, pose)
    assert cam[1, 1] < cam[0, 1]  # up in the model is up in the image (smaller y)
    assert cam[2, 0] > cam[0, 0]  # the face's left is the image's right
    assert cam[3, 2] < cam[0, 2]  # the nose tip is nearer the camera
    xy = project(cam, Camera.for_image(101, 81))
    np.testing.assert_allclose(xy[0], [50.0, 40.0])  # principal point at the image centre


def test_rotation_round_trip_and_euler():
    rng = np.random.default_rng(0)
    for _ in range(20):
        r = rng.normal(0, 1, 3)
        r *= rng.uniform(0, 3.0) / np.linalg.norm(r)
        m = rotation_matrix(r)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(rotation_matrix(rotation_vector(m)), m, atol=1e-9)
    yaw = euler_degrees(np.array([0.0, np.radians(30.0), 0.0]))
    np.testing.assert_allclose(yaw, [0.0, 30.0, 0.0], atol=1e-9)


def test_torch_matches_numpy_and_has_gradients():
    rng = np.random.default_rng(1)
    verts = rng.normal(0, 5, (2, 40, 3))
    rot = rng.normal(0, 0.3, (2, 3))
    trans = np.array([[1.0, -2.0, 60.0], [0.0, 1.0, 45.0]])
    camera = Camera.for_image(320, 240)
    rot_t = torch.tensor(rot, requires_grad=True)
    cam_t = camera_vertices_torch(torch.tensor(verts), rot_t, torch.tensor(trans))
    xy_t = project_torch(
        cam_t,
        torch.full((2,), camera.focal, dtype=torch.float64),
        torch.tensor([[159.5, 119.5]] * 2),
    )
    for b in range(2):
        cam = camera_vertices(verts[b], Pose(rot[b], trans[b]))
        np.testing.assert_allclose(cam_t[b].detach().numpy(), cam, atol=1e-9)
        np.testing.assert_allclose(xy_t[b].detach().numpy(), project(cam, camera), atol=1e-7)
    xy_t.sum().backward()
    assert rot_t.grad is not None and torch.isfinite(rot_t.grad).all()
    assert rot_t.grad.abs().sum() > 0
