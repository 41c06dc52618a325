"""The rasterize/interpolate interface: conventions, input checks, backend choice, gradients."""

from __future__ import annotations

import pytest
import torch

from facesr_video.errors import DeviceError
from facesr_video.render.rasterize import (
    interpolate,
    nvdiffrast_available,
    pixels_to_clip,
    rasterize,
    resolve_backend,
)

TRI = torch.tensor([[0, 1, 2]])


def test_pixels_to_clip_puts_pixel_centres_on_their_pixels() -> None:
    # A tiny triangle around pixel (x=5, y=2) covers exactly that pixel: row 2, column 5.
    xy = torch.tensor([[[4.6, 1.6], [5.6, 1.7], [5.2, 2.6]]])
    clip = pixels_to_clip(xy, torch.full((1, 3), 3.0), (6, 8), 1.0, 10.0)
    raster = rasterize(clip, TRI, (6, 8), backend="torch")
    assert (raster.tri_id[0] == 0).nonzero().tolist() == [[2, 5]]


def test_pixels_to_clip_depth_range() -> None:
    xy = torch.zeros(1, 3, 2)
    depth = torch.tensor([[1.0, 5.0, 10.0]])
    clip = pixels_to_clip(xy, depth, (4, 4), 1.0, 10.0)
    ndc_z = clip[0, :, 2] / clip[0, :, 3]
    assert torch.allclose(ndc_z[[0, 2]], torch.tensor([-1.0, 1.0]), atol=1e-6)
    assert -1 < ndc_z[1] < 1
    assert torch.equal(clip[0, :, 3], depth[0])


def test_input_checks_say_what_is_wrong() -> None:
    clip = torch.zeros(1, 3, 4)
    with pytest.raises(ValueError, match=r"\(B, V, 4\)"):
        rasterize(torch.zeros(3, 4), TRI, (4, 4))
    with pytest.raises(TypeError, match="float32"):
        rasterize(clip.double(), TRI, (4, 4))
    with pytest.raises(TypeError, match="int32 or int64"):
        rasterize(clip, TRI.float(), (4, 4))
    with pytest.raises(ValueError, match="outside"):
        rasterize(clip, torch.tensor([[0, 1, 3]]), (4, 4))
    with pytest.raises(ValueError, match="positive"):
        rasterize(clip, TRI, (0, 4))
    with pytest.raises(ValueError, match="unknown render backend"):
        rasterize(clip, TRI, (4, 4), backend="opengl")  # type: ignore[arg-type]


def test_backend_resolution() -> None:
    assert resolve_backend("auto", torch.device("cpu")) == "torch"
    assert resolve_backend("torch", torch.device("cpu")) == "torch"
    with pytest.raises(DeviceError, match="CUDA"):
        resolve_backend("nvdiffrast", torch.device("cpu"))
    if not nvdiffrast_available():
        with pytest.raises(DeviceError, match="not installed"):
            resolve_backend("nvdiffrast", torch.device("cuda"))


def _scene() -> tuple[torch.Tensor, torch.Tensor]:
    xy = torch.tensor([[[1.0, 1.0], [9.0, 2.0], [2.0, 9.0], [9.5, 9.5]]])
    depth = torch.tensor([[2.0, 3.0, 4.0, 2.5]])
    return pixels_to_clip(xy, depth, (11, 11), 1.0, 10.0), torch.tensor([[0, 1, 2], [1, 3, 2]])


def test_interpolate_reproduces_vertex_attributes_and_batches() -> None:
    clip, tris = _scene()
    raster = rasterize(clip, tris, (11, 11), backend="torch")
    # A per-vertex attribute that is affine in clip space is reproduced exactly: interpolate
    # the clip coordinates themselves, and check x/w against each pixel's own NDC x.
    out = interpolate(clip[0], raster, tris)  # (1, H, W, 4)
    ndc_x = out[..., 0] / out[..., 3]
    expected = (2 * torch.arange(11.0) + 1) / 11 - 1
    covered = raster.mask[0]
    assert covered.sum() > 30
    assert torch.allclose(ndc_x[0][covered], expected.expand(11, 11)[covered], atol=1e-5)
    assert (out[0][~covered] == 0).all()
    per_image = interpolate(clip, raster, tris)
    assert torch.allclose(per_image, out)
    with pytest.raises(ValueError, match="attr must be"):
        interpolate(torch.zeros(2, 4, 3), raster, tris)


def test_interpolate_gradcheck_attributes_and_positions() -> None:
    clip, tris = _scene()
    clip = clip.double().requires_grad_(False)
    raster = rasterize(clip.float(), tris, (11, 11), backend="torch")
    attr = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)

    def blend(a: torch.Tensor) -> torch.Tensor:
        return interpolate(a, raster, tris)

    assert torch.autograd.gradcheck(blend, (attr,))

    from facesr_video.render.torch_backend import barycentrics

    positions = clip.clone().requires_grad_(True)

    def through_positions(p: torch.Tensor) -> torch.Tensor:
        bary, depth = barycentrics(p, tris, raster.tri_id)
        return torch.cat([bary.reshape(-1), depth.reshape(-1)])

    assert torch.autograd.gradcheck(through_positions, (positions,))


@pytest.mark.gpu
def test_torch_backend_on_cuda_matches_cpu() -> None:
    clip, tris = _scene()
    cpu = rasterize(clip, tris, (11, 11), backend="torch")
    gpu = rasterize(clip.cuda(), tris.cuda(), (11, 11), backend="torch")
    assert torch.equal(gpu.tri_id.cpu(), cpu.tri_id)
    assert torch.allclose(gpu.bary.cpu(), cpu.bary, atol=1e-5)
