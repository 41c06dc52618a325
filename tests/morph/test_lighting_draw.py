"""SH lighting recovers a known light; the mesh overlay draws where the mesh projects."""

from __future__ import annotations

import numpy as np

from facesr_video.morph.draw import draw_mesh, front_facing
from facesr_video.morph.lighting import fit_lighting, shade


def test_fit_lighting_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    normals = rng.normal(0, 1, (2000, 3))
    normals[:, 2] = -np.abs(normals[:, 2])  # facing a camera looking along +z
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    lighting = rng.normal(0, 0.05, (9, 3))
    lighting[0] = 0.6
    albedo = rng.uniform(0.3, 0.9, (2000, 3))
    colors = shade(normals, lighting, albedo) + rng.normal(0, 0.005, (2000, 3))
    fitted = fit_lighting(colors, normals, albedo, ridge=1e-6)
    np.testing.assert_allclose(shade(normals, fitted, albedo), colors, atol=0.03)
    np.testing.assert_allclose(fitted[0], lighting[0], atol=0.02)


def test_draw_mesh_marks_only_near_the_mesh():
    rgb = np.zeros((64, 64, 3), np.uint8)
    xy = np.array([[10.0, 10.0], [50.0, 10.0], [10.0, 50.0]])
    out = draw_mesh(rgb, xy, np.array([[0, 1, 2]]), points=np.array([[32.0, 32.0]]))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out[10, 30].any() and out[30, 10].any()  # on two edges
    assert out[32, 32, 0] == 255  # the point
    assert not out[55:, 55:].any()
    assert not rgb.any()  # input untouched


def test_front_facing_flips_with_winding():
    cam = np.array([[0.0, 0, 10], [1, 0, 10], [0, 1, 10]])
    # in camera space (y down) this winding has its normal toward the camera (-z)
    assert front_facing(cam, np.array([[0, 2, 1]]))[0]
    assert not front_facing(cam, np.array([[0, 1, 2]]))[0]


def test_fit_lighting_from_image_on_the_real_model(ict_model_path):
    from facesr_video.morph.camera import Camera
    from facesr_video.morph.fit import FaceFit
    from facesr_video.morph.formats import load_face_model
    from facesr_video.morph.lighting import fit_lighting_from_image, sh_basis

    model = load_face_model(ict_model_path)
    fit = FaceFit(
        identity=np.zeros(model.num_identity, np.float32),
        expression=np.zeros(model.num_expression, np.float32),
        rotation=np.zeros(3),
        translation=np.array([0.0, 0.0, 60.0]),
        camera=Camera.for_image(160, 160),
        residual=0.0,
        reliable=True,
    )
    grey = np.full((160, 160, 3), 0.5)
    grey[..., 2] = 0.25
    lighting = fit_lighting_from_image(grey, model, fit)
    assert lighting.shape == (9, 3)
    # a flat image is explained by ambient light only: shading ~ the grey level everywhere
    normals = np.array([[0.0, 0.0, -1.0], [0.3, 0.2, -0.93], [-0.3, -0.2, -0.93]])
    shading = sh_basis(normals / np.linalg.norm(normals, axis=1, keepdims=True)) @ lighting
    np.testing.assert_allclose(shading, [[0.5, 0.5, 0.25]] * 3, atol=0.03)
