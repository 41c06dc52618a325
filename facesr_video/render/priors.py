"""Render the prior maps of a fitted face at the output crop size (layout in render/layout.py).

The fitter gives camera-space vertices (for normals, depth and lighting) and their projections
into the crop (for where they land); rendering needs no camera model of its own. All per-vertex
attributes are interpolated in one `interpolate` call, so a full prior set is one rasterisation
and a handful of tensor ops, differentiable with respect to the vertices, albedo and lighting.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.mesh import vertex_normals
from facesr_video.morph.sh import default_sh, sh_shading
from facesr_video.render.layout import PriorLayout, prior_layout
from facesr_video.render.parts import part_one_hot
from facesr_video.render.rasterize import Backend, Raster, interpolate, pixels_to_clip, rasterize

FLAT_ALBEDO = 0.7

_MODEL_TENSORS: dict[tuple[int, str], tuple[FaceModel, torch.Tensor, torch.Tensor]] = {}


@dataclass(frozen=True)
class PriorMaps:
    """Rendered priors of a batch of faces.

    Shapes: maps (B, C, H, W) float32 in `layout.channels` order (channels-last memory: what the
    renderer makes and the CPU network reads, no copy); coefficients (B, D) float32 in
    `layout.coefficient_names` order, or None when the caller gave none; raster is the
    rasterisation the maps came from (triangle ids, barycentrics).
    """

    maps: torch.Tensor
    coefficients: torch.Tensor | None
    layout: PriorLayout
    raster: Raster

    def channel(self, name: str) -> torch.Tensor:
        """(B, H, W) one named channel."""
        return self.maps[:, self.layout.index(name)]

    @property
    def coverage(self) -> torch.Tensor:
        """(B, 1, H, W) float32 coverage mask (1 on the face), for blending masks."""
        index = self.layout.index("mask")
        return self.maps[:, index : index + 1]

    def select(self, variant: str) -> torch.Tensor:
        """(B, C', H, W) the channels a network variant ("none", "render", "all") consumes."""
        return self.maps[:, list(self.layout.channels_for(variant))]


def _model_tensors(model: FaceModel, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Triangles (F, 3) int64 and part one-hot (V, 5) float32 on `device`, cached per model."""
    key = (id(model), str(device))
    hit = _MODEL_TENSORS.get(key)
    if hit is None or hit[0] is not model:
        tris = torch.as_tensor(model.triangles, dtype=torch.int64, device=device)
        parts = torch.as_tensor(part_one_hot(model), device=device)
        hit = (model, tris, parts)
        _MODEL_TENSORS[key] = hit
    return hit[1], hit[2]


def render_priors(
    model: FaceModel,
    cam_vertices: torch.Tensor,
    screen_xy: torch.Tensor,
    size: tuple[int, int],
    sh: torch.Tensor | None = None,
    albedo: torch.Tensor | None = None,
    coefficients: torch.Tensor | None = None,
    backend: Backend = "auto",
) -> PriorMaps:
    """Render the full prior set of `render/layout.py` for a batch of fitted faces.

    Args:
        model: the face model the vertices come from (triangles, part labels).
        cam_vertices: (B, V, 3) camera space, OpenCV convention (x right, y down, z forward,
            positive depth); a proper rigid transform of model-space vertices.
        screen_xy: (B, V, 2) the vertices' pixel coordinates in the output crop.
        size: (H, W) of the output crop.
        sh: (B, 9, 3) SH lighting in camera space, or None for `lighting.default_sh`.
        albedo: (B, V, 3) RGB in [0, 1], or None for flat grey.
        coefficients: (B, D) the fit's coefficient vector (`layout.pack_coefficients`), kept as is.
        backend: rasteriser backend, "auto", "torch" or "nvdiffrast".

    Returns:
        PriorMaps with maps (B, 13, H, W).
    """
    if cam_vertices.ndim != 3 or cam_vertices.shape[1:] != (model.num_vertices, 3):
        raise ValueError(
            f"cam_vertices must be (B, {model.num_vertices}, 3), got {tuple(cam_vertices.shape)}"
        )
    batch = cam_vertices.shape[0]
    if screen_xy.shape != (batch, model.num_vertices, 2):
        raise ValueError(
            f"screen_xy must be ({batch}, {model.num_vertices}, 2), got {tuple(screen_xy.shape)}"
        )
    layout = prior_layout(model)
    if coefficients is not None and coefficients.shape != (batch, layout.num_coefficients):
        raise ValueError(
            f"coefficients must be ({batch}, {layout.num_coefficients}) for this model, "
            f"got {tuple(coefficients.shape)}"
        )
    device = cam_vertices.device
    cam_vertices = cam_vertices.float()
    tris, parts = _model_tensors(model, device)

    z = cam_vertices[..., 2]
    z_near = z.detach().amin(1)
    z_far = z.detach().amax(1)
    if bool((z_near <= 0).any()):
        raise ValueError(
            "cam_vertices must all have positive depth (the face is behind the camera)"
        )
    clip = pixels_to_clip(screen_xy.float(), z, size, z_near * 0.5, z_far * 2.0)
    raster = rasterize(clip, tris, size, backend=backend)

    normals = vertex_normals(cam_vertices, tris)
    if albedo is None:
        albedo = cam_vertices.new_full((batch, model.num_vertices, 3), FLAT_ALBEDO)
    rel_depth = (z_far[:, None] - z) / (z_far - z_near).clamp(min=1e-6)[:, None]
    attrs = torch.cat(
        [albedo.float(), normals, rel_depth[..., None], parts.expand(batch, -1, -1)], dim=-1
    )
    pix = interpolate(attrs, raster, tris)  # (B, H, W, 12)
    mask = raster.mask.unsqueeze(-1).to(pix.dtype)
    pix_albedo = pix[..., 0:3]
    pix_normals = torch.nn.functional.normalize(pix[..., 3:6], dim=-1, eps=1e-12)
    if sh is None:
        sh = default_sh(batch, device)
    shading = sh_shading(pix_normals, sh.float())
    render = (pix_albedo * shading).clamp(0.0, 1.0) * mask
    maps = torch.cat(
        [render, pix_normals * mask, pix[..., 6:7].clamp(0.0, 1.0), mask, pix[..., 7:12]], dim=-1
    )
    return PriorMaps(
        maps=maps.permute(0, 3, 1, 2),  # (B, C, H, W) in channels-last memory, as rendered
        coefficients=None if coefficients is None else coefficients.float(),
        layout=layout,
        raster=raster,
    )


def coefficient_planes(coefficients: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Broadcast a coefficient vector into constant planes, for variants that want maps.

    Args:
        coefficients: (B, D).
        size: (H, W).

    Returns:
        (B, D, H, W) with plane d filled with coefficients[:, d] (an expanded view, no copy).
    """
    batch, dims = coefficients.shape
    return coefficients.view(batch, dims, 1, 1).expand(batch, dims, int(size[0]), int(size[1]))
