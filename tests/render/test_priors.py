"""The full prior set rendered from the real ICT face: shapes, values, variants, gradients."""

from __future__ import annotations

import pytest
import torch

from facesr_video.render.layout import CHANNELS_V1, pack_coefficients, prior_layout
from facesr_video.render.priors import coefficient_planes, render_priors
from tests.conftest import ICT_NPZ, require
from tests.render.scene import face_scene, load_model


@pytest.fixture(scope="module")
def model():
    return load_model(require(ICT_NPZ))


def test_full_prior_set_has_sensible_values(model) -> None:
    cam, xy = face_scene(model, 128, yaws_deg=(0.0, 30.0))
    priors = render_priors(model, cam, xy, (128, 128))
    maps = priors.maps
    assert maps.shape == (2, len(CHANNELS_V1), 128, 128) and maps.dtype == torch.float32
    mask = priors.channel("mask")
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    area = mask.mean((1, 2))
    assert ((area > 0.3) & (area < 0.7)).all()  # the face fills much of the crop, not all
    assert torch.equal(priors.coverage[:, 0], mask)
    on = mask > 0
    # outside the face everything is zero
    assert (maps.permute(1, 0, 2, 3)[:, ~on] == 0).all()
    # normals are unit and face the camera (negative z in OpenCV camera space)
    normals = maps[:, 3:6].permute(0, 2, 3, 1)[on]
    assert torch.allclose(normals.norm(dim=-1), torch.ones(len(normals)), atol=1e-4)
    assert (normals[:, 2] < 0).float().mean() > 0.97
    # render in [0, 1] and not flat; the frontal face is left-right symmetric
    render = maps[:, 0:3]
    assert render.min() >= 0 and render.max() <= 1 and render[0, 0][on[0]].std() > 0.02
    flipped = torch.flip(mask[0], dims=[1])
    assert (mask[0] != flipped).float().mean() < 0.02
    # depth: nose tip nearer than the cheeks; inside [0, 1]
    depth = priors.channel("depth")
    assert depth.max() <= 1 and depth[on].min() >= 0
    assert depth[0, 64, 63:65].max() > depth[0, 64, 30:34].max()
    # parts sum to the mask and each part shows on the frontal face
    parts = maps[:, 8:13]
    assert torch.allclose(parts.sum(1), mask, atol=1e-5)
    assert (parts[0].sum((1, 2)) > 20).all()
    # turning the head changes the picture
    assert (maps[0] - maps[1]).abs().mean() > 0.05


def test_albedo_and_lighting_drive_the_render(model) -> None:
    cam, xy = face_scene(model, 64)
    albedo = torch.zeros(1, model.num_vertices, 3)
    albedo[..., 0] = 0.8
    sh = torch.zeros(1, 9, 3)
    sh[:, 0] = 1.0 / 0.2820948  # constant irradiance 1
    priors = render_priors(model, cam, xy, (64, 64), sh=sh, albedo=albedo)
    on = priors.channel("mask") > 0
    render = priors.maps[:, 0:3].permute(0, 2, 3, 1)[on]
    assert torch.allclose(render, torch.tensor([0.8, 0.0, 0.0]).expand_as(render), atol=1e-5)


def test_batch_matches_single_renders(model) -> None:
    cam, xy = face_scene(model, 64, yaws_deg=(-20.0, 15.0))
    both = render_priors(model, cam, xy, (64, 64)).maps
    one = render_priors(model, cam[1:], xy[1:], (64, 64)).maps
    assert torch.allclose(both[1:], one, atol=1e-5)


def test_variants_and_coefficients(model) -> None:
    layout = prior_layout(model)
    cam, xy = face_scene(model, 32)
    coeffs = pack_coefficients(
        layout,
        torch.zeros(1, model.num_identity),
        torch.zeros(1, model.num_expression),
        torch.zeros(1, 3),
        torch.tensor([[0.0, 0.0, 60.0]]),
        torch.zeros(1, 9, 3),
    )
    assert coeffs.shape == (1, layout.num_coefficients) == (1, 186)
    priors = render_priors(model, cam, xy, (32, 32), coefficients=coeffs)
    assert priors.select("none").shape == (1, 0, 32, 32)
    assert torch.equal(priors.select("render"), priors.maps[:, 0:3])
    assert torch.equal(priors.select("all"), priors.maps)
    planes = coefficient_planes(priors.coefficients, (32, 32))
    assert planes.shape == (1, 186, 32, 32)
    assert (planes[0, layout.coefficient_names.index("trans_z")] == 60).all()
    with pytest.raises(ValueError, match="coefficients must be"):
        render_priors(model, cam, xy, (32, 32), coefficients=torch.zeros(1, 5))
    with pytest.raises(ValueError, match="positive depth"):
        render_priors(model, -cam, xy, (32, 32))


def test_render_is_differentiable_in_lighting_albedo_and_vertices(model) -> None:
    cam, xy = face_scene(model, 32)
    cam = cam.requires_grad_(True)
    xy = xy.requires_grad_(True)
    sh = torch.zeros(1, 9, 3)
    sh[:, 0] = 2.0
    sh.requires_grad_(True)
    albedo = torch.full((1, model.num_vertices, 3), 0.5, requires_grad=True)
    priors = render_priors(model, cam, xy, (32, 32), sh=sh, albedo=albedo, backend="torch")
    priors.maps[:, 0:7].sum().backward()
    for tensor in (cam, xy, sh, albedo):
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0


@pytest.mark.gpu
def test_cuda_render_matches_cpu(model) -> None:
    cam, xy = face_scene(model, 96, yaws_deg=(-25.0, 10.0))
    cpu = render_priors(model, cam, xy, (96, 96), backend="torch").maps
    gpu = render_priors(model, cam.cuda(), xy.cuda(), (96, 96), backend="torch").maps.cpu()
    same = (cpu[:, 7] == gpu[:, 7]).float().mean()
    assert same > 0.999
    both = (cpu[:, 7] * gpu[:, 7]).bool()
    assert (cpu - gpu).abs().permute(1, 0, 2, 3)[:, both].max() < 1e-3
