"""The rasteriser interface: `rasterize` + `interpolate`, two backends behind them.

Clip-space convention (nvdiffrast's, so that both backends draw the same image):

* positions are homogeneous (x, y, z, w); after the divide by w, x and y in [-1, 1] span the
  image and z/w in [-1, 1] is the depth range (smaller is nearer; outside is clipped);
* column i of the output has its pixel centre at NDC x = 2 * (i + 0.5) / W - 1 and row j at
  NDC y = 2 * (j + 0.5) / H - 1: row 0 is at NDC y = -1. nvdiffrast calls that the bottom of an
  OpenGL image (its samples flip the rows before saving); here, with pixel coordinates whose y
  points down, it simply means pixel (x, y) lands in row y, with no flip anywhere, which is what
  `pixels_to_clip` produces;
* both windings are drawn (no back-face culling); the nearest surface wins.

`rasterize` returns a `Raster`: triangle id (-1 where empty), perspective-correct barycentrics
(b0, b1, b2) of the triangle's vertices 0, 1, 2, and z/w. `interpolate` blends per-vertex
attributes with them in torch, so it is differentiable with respect to the attributes, and (torch
backend, and nvdiffrast's own autograd) with respect to the vertex positions through the
barycentrics.

Backends: "torch" (render/torch_backend.py, CPU or CUDA) and "nvdiffrast" (optional, CUDA only);
"auto" picks nvdiffrast when it is importable and the tensors are on CUDA, else torch.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

import torch

from facesr_video.errors import DeviceError

Backend = Literal["auto", "torch", "nvdiffrast"]


@dataclass(frozen=True)
class Raster:
    """Per-pixel result of rasterisation.

    Shapes: tri_id (B, H, W) int64, -1 where no triangle covers the pixel centre;
    bary (B, H, W, 3) float32 perspective-correct weights of the triangle's vertices (zeros where
    empty); depth (B, H, W) float32 z/w in [-1, 1] (zero where empty).
    """

    tri_id: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor
    backend: str

    @property
    def mask(self) -> torch.Tensor:
        """(B, H, W) bool: pixels covered by a triangle."""
        return self.tri_id >= 0

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.tri_id.shape[1]), int(self.tri_id.shape[2])


def nvdiffrast_available() -> bool:
    """True when the optional nvdiffrast package can be imported."""
    return importlib.util.find_spec("nvdiffrast") is not None


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend to use for tensors on `device`: "torch" or "nvdiffrast"."""
    if backend == "torch":
        return "torch"
    if backend == "nvdiffrast":
        if device.type != "cuda":
            raise DeviceError(
                f"the nvdiffrast backend needs CUDA tensors, got {device}",
                "use --render-backend torch or auto, or move the data to a GPU",
            )
        if not nvdiffrast_available():
            raise DeviceError(
                "nvdiffrast is not installed",
                "pip install git+https://github.com/NVlabs/nvdiffrast, or use the torch backend",
            )
        return "nvdiffrast"
    if backend == "auto":
        return "nvdiffrast" if device.type == "cuda" and nvdiffrast_available() else "torch"
    raise ValueError(f"unknown render backend {backend!r}; expected auto, torch or nvdiffrast")


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    if len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
        raise ValueError(f"size must be (H, W) with positive sides, got {size}")
    return int(size[0]), int(size[1])


def _check_tris(tris: torch.Tensor, num_verts: int, device: torch.device) -> torch.Tensor:
    if tris.ndim != 2 or tris.shape[1] != 3:
        raise ValueError(f"tris must be (F, 3), got {tuple(tris.shape)}")
    if tris.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"tris must be int32 or int64, got {tris.dtype}")
    if tris.device != device:
        raise ValueError(f"tris on {tris.device} but vertices on {device}; put them on one device")
    if tris.numel() and (int(tris.min()) < 0 or int(tris.max()) >= num_verts):
        raise ValueError(f"tris index vertices outside [0, {num_verts})")
    return tris.long()


def rasterize(
    verts_clip: torch.Tensor,
    tris: torch.Tensor,
    size: tuple[int, int],
    backend: Backend = "auto",
) -> Raster:
    """Rasterise triangles with a depth test (nearest wins).

    Args:
        verts_clip: (B, V, 4) float32 clip-space positions (see the module docstring).
        tris: (F, 3) int32/int64 vertex indices, shared by the batch.
        size: (H, W) of the output.
        backend: "auto", "torch" or "nvdiffrast".

    Returns:
        Raster with tri_id (B, H, W), bary (B, H, W, 3), depth (B, H, W).
    """
    if verts_clip.ndim != 3 or verts_clip.shape[2] != 4:
        raise ValueError(f"verts_clip must be (B, V, 4), got {tuple(verts_clip.shape)}")
    if verts_clip.dtype != torch.float32:
        raise TypeError(f"verts_clip must be float32, got {verts_clip.dtype}")
    height, width = _check_size(size)
    tris = _check_tris(tris, verts_clip.shape[1], verts_clip.device)
    chosen = resolve_backend(backend, verts_clip.device)
    if chosen == "nvdiffrast":
        from facesr_video.render import nvdiffrast_backend

        tri_id, bary, depth = nvdiffrast_backend.rasterize_nvdiffrast(
            verts_clip, tris, height, width
        )
    else:
        from facesr_video.render import torch_backend

        tri_id = torch_backend.rasterize_ids(verts_clip, tris, height, width)
        bary, depth = torch_backend.barycentrics(verts_clip, tris, tri_id)
    return Raster(tri_id=tri_id, bary=bary, depth=depth, backend=chosen)


def interpolate(attr: torch.Tensor, raster: Raster, tris: torch.Tensor) -> torch.Tensor:
    """Blend per-vertex attributes over the pixels with the raster's barycentrics.

    Differentiable with respect to attr and to raster.bary. Empty pixels get zeros.

    Args:
        attr: (V, C) shared by the batch, or (B, V, C) per image; floating point.
        raster: from `rasterize`, with tri_id (B, H, W).
        tris: (F, 3) the triangles given to `rasterize`.

    Returns:
        (B, H, W, C) interpolated attributes.
    """
    batch = raster.tri_id.shape[0]
    if attr.ndim == 2:
        attr = attr.unsqueeze(0).expand(batch, -1, -1)
    if attr.ndim != 3 or attr.shape[0] != batch:
        raise ValueError(f"attr must be (V, C) or ({batch}, V, C), got {tuple(attr.shape)}")
    if not attr.is_floating_point():
        raise TypeError(f"attr must be floating point, got {attr.dtype}")
    if attr.device != raster.tri_id.device:
        raise ValueError(f"attr on {attr.device} but raster on {raster.tri_id.device}")
    num_verts, channels = attr.shape[1], attr.shape[2]
    tris = _check_tris(tris, num_verts, attr.device)
    height, width = raster.size
    flat_id = raster.tri_id.reshape(-1)
    covered = (flat_id >= 0).nonzero().squeeze(1)
    image = torch.div(covered, height * width, rounding_mode="floor")
    vidx = tris.index_select(0, flat_id.index_select(0, covered)) + (image * num_verts)[:, None]
    flat_attr = attr.reshape(batch * num_verts, channels)
    values = flat_attr.index_select(0, vidx.reshape(-1)).view(-1, 3, channels)  # (N, 3, C)
    bary = raster.bary.reshape(-1, 3).index_select(0, covered).to(attr.dtype)
    blended = (values * bary.unsqueeze(-1)).sum(1)  # (N, C)
    out = attr.new_zeros(batch * height * width, channels).index_put((covered,), blended)
    return out.view(batch, height, width, channels)


def pixels_to_clip(
    xy: torch.Tensor,
    depth: torch.Tensor,
    size: tuple[int, int],
    near: float | torch.Tensor,
    far: float | torch.Tensor,
) -> torch.Tensor:
    """Clip-space positions from pixel coordinates and positive camera depths.

    w is the camera depth, so the rasteriser's barycentrics are perspective-correct; z/w maps
    depth `near` to -1 and `far` to +1 as an OpenGL projection would.

    Args:
        xy: (B, V, 2) pixel coordinates in the output image (x right, y down, origin top-left,
            pixel centres at integers).
        depth: (B, V) positive camera depth (OpenCV z).
        size: (H, W) of the output image.
        near, far: depth range, floats or (B,) tensors, 0 < near < far.

    Returns:
        (B, V, 4) float32 clip-space positions.
    """
    if xy.ndim != 3 or xy.shape[2] != 2:
        raise ValueError(f"xy must be (B, V, 2), got {tuple(xy.shape)}")
    if depth.shape != xy.shape[:2]:
        raise ValueError(f"depth must be {tuple(xy.shape[:2])}, got {tuple(depth.shape)}")
    height, width = _check_size(size)
    near_t = torch.as_tensor(near, dtype=xy.dtype, device=xy.device).reshape(-1, 1)
    far_t = torch.as_tensor(far, dtype=xy.dtype, device=xy.device).reshape(-1, 1)
    ndc_x = (2.0 * xy[..., 0] + 1.0) / width - 1.0
    ndc_y = (2.0 * xy[..., 1] + 1.0) / height - 1.0
    z_clip = ((far_t + near_t) * depth - 2.0 * far_t * near_t) / (far_t - near_t)
    return torch.stack([ndc_x * depth, ndc_y * depth, z_clip, depth], dim=-1).float()
