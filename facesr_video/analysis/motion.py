"""Face motion between frames from the 3D fits: where each pixel of a face crop is in a neighbour.

A pixel of frame t's low-resolution crop covered by the fitted mesh sees one surface point (a
triangle and its barycentrics). The same point in frame t+d is the same barycentric blend of the
same vertices, projected by frame t+d's fit, so interpolating each vertex's displacement
(projected at t+d minus projected at t) over the raster of frame t gives a dense, per-pixel motion
field for free. A depth test against the mesh rendered at t+d finds what turns out of view (the far
cheek behind the nose). Outside the mesh (hair, neck, background of the crop) and for the `box`
registration, the motion is the similarity that carries frame t's landmarks onto frame t+d's.

Flows are in crop pixels (frame t's crop grid at low resolution), so training can apply them to the
neighbour's crop cut with frame t's alignment, and `enhance` to the neighbour's frame through
`Alignment.frame_from_crop`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from facesr_video.analysis.priors import fit_vertices
from facesr_video.analysis.sequence import FaceState
from facesr_video.faces.align import Alignment, similarity_from_points
from facesr_video.morph.face_model import FaceModel
from facesr_video.render.rasterize import Backend, Raster, interpolate, pixels_to_clip, rasterize
from facesr_video.sr.neighbours import REGISTRATIONS

OUTSIDE_MESH_TRUST = 0.5  # the box motion is a coarser guess than the mesh's
DEPTH_TOLERANCE = 0.03  # of the face's depth extent: a point this far behind the surface is hidden


@dataclass(frozen=True)
class NeighbourMotion:
    """flow (B, N, 2, n, n): crop pixel -> the same face point in neighbour i, minus the pixel, in
    crop pixels; confidence (B, N, 1, n, n) in [0, 1] (0 for a missing neighbour)."""

    flow: torch.Tensor
    confidence: torch.Tensor


def crop_grid(size: int, device: torch.device) -> torch.Tensor:
    """(n, n, 2) pixel centres (x, y) of an n x n crop."""
    axis = torch.arange(size, dtype=torch.float32, device=device)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs, ys], dim=-1)


def _apply(matrix: np.ndarray, xy: torch.Tensor) -> torch.Tensor:
    """An affine (2, 3) applied to points (..., 2)."""
    m = torch.as_tensor(matrix, dtype=xy.dtype, device=xy.device)
    return xy @ m[:, :2].T + m[:, 2]


def box_motion(
    faces: Sequence[FaceState],
    neighbours: Sequence[Sequence[FaceState | None]],
    device: torch.device,
) -> NeighbourMotion:
    """Motion of each crop as a whole: the landmarks' similarity from frame t to each neighbour."""
    size = faces[0].alignment.crop_size
    count = len(neighbours[0]) if neighbours else 0
    grid = crop_grid(size, device)
    flow = torch.zeros((len(faces), count, 2, size, size), device=device)
    confidence = torch.zeros((len(faces), count, 1, size, size), device=device)
    for b, (face, row) in enumerate(zip(faces, neighbours, strict=True)):
        frame_xy = _apply(face.alignment.frame_from_crop, grid)
        for i, other in enumerate(row):
            if other is None:
                continue
            moved = similarity_from_points(face.landmarks68, other.landmarks68)
            target = _apply(face.alignment.crop_from_frame, _apply(moved, frame_xy))
            flow[b, i] = (target - grid).permute(2, 0, 1)
            confidence[b, i] = float(other.confidence)
    return NeighbourMotion(flow, confidence)


def face_motion(
    model: FaceModel,
    faces: Sequence[FaceState],
    neighbours: Sequence[Sequence[FaceState | None]],
    registration: str = "mesh",
    device: torch.device | str = "cpu",
    backend: Backend = "auto",
) -> NeighbourMotion:
    """Motion from B faces of one crop size to their N neighbours each (None: no neighbour there).

    `registration`: "mesh" (the fits' per-pixel motion, the box's outside the mesh) or "box".
    """
    if registration not in REGISTRATIONS:
        raise ValueError(f"registration must be one of {REGISTRATIONS}, got {registration!r}")
    sizes = {f.alignment.crop_size for f in faces}
    if len(sizes) != 1 or len(neighbours) != len(faces):
        raise ValueError(f"need faces of one crop size with a neighbour row each, got {sizes}")
    device = torch.device(device)
    box = box_motion(faces, neighbours, device)
    if registration == "box":
        return box
    return mesh_motion(model, faces, neighbours, box, backend)


def mesh_motion(
    model: FaceModel,
    faces: Sequence[FaceState],
    neighbours: Sequence[Sequence[FaceState | None]],
    box: NeighbourMotion,
    backend: Backend = "auto",
) -> NeighbourMotion:
    """`face_motion`'s mesh registration from its box motion (given, so a caller that wants
    both computes the box motion once)."""
    device = box.flow.device
    present = [(b, i, o) for b, row in enumerate(neighbours) for i, o in enumerate(row) if o]
    if not present:
        return box
    size = faces[0].alignment.crop_size
    count = len(neighbours[0])
    tris = torch.as_tensor(model.triangles, dtype=torch.int64, device=device)
    cam, frame_xy = fit_vertices(model, [f.fit for f in faces], device)
    cam_n, frame_n = fit_vertices(model, [o.fit for _, _, o in present], device)
    crop_xy = torch.stack(
        [_apply(f.alignment.crop_from_frame, xy) for f, xy in zip(faces, frame_xy, strict=True)]
    )
    raster = _raster(crop_xy, cam[..., 2], size, tris, backend)

    # Per vertex, per neighbour: displacement in crop pixels and depth at t+d.
    attrs = torch.zeros((len(faces), model.num_vertices, count * 3), device=device)
    nb_crop = torch.empty_like(frame_n)
    for k, (b, i, _) in enumerate(present):
        nb_crop[k] = _apply(faces[b].alignment.crop_from_frame, frame_n[k])
        attrs[b, :, 3 * i : 3 * i + 2] = nb_crop[k] - crop_xy[b]
        attrs[b, :, 3 * i + 2] = cam_n[k, :, 2]
    pix = interpolate(attrs, raster, tris).view(len(faces), size, size, count, 3)
    covered = raster.mask  # (B, n, n)

    # Depth test: the neighbour's own surface, rendered in frame t's crop window with a margin.
    margin = max(4, size // 4)
    depth_maps = _depth_map(nb_crop + margin, cam_n[..., 2], size + 2 * margin, tris, backend)
    grid = crop_grid(size, device)
    flow, confidence = box.flow.clone(), box.confidence * OUTSIDE_MESH_TRUST
    for k, (b, i, other) in enumerate(present):
        mesh_flow = pix[b, :, :, i, :2]  # (n, n, 2)
        point_depth = pix[b, :, :, i, 2]
        surface = _read_nearest(depth_maps[k], grid + mesh_flow + margin)
        extent = float(cam_n[k, :, 2].max() - cam_n[k, :, 2].min())
        visible = (surface > 0) & (point_depth <= surface + DEPTH_TOLERANCE * max(extent, 1e-6))
        inside = covered[b]
        flow[b, i] = torch.where(inside[None], mesh_flow.permute(2, 0, 1), flow[b, i])
        trust = (visible & inside).float() * float(other.confidence)
        confidence[b, i] = torch.where(inside[None], trust[None], confidence[b, i])
    return NeighbourMotion(flow, confidence)


def _raster(
    xy: torch.Tensor, depth: torch.Tensor, size: int, tris: torch.Tensor, backend: Backend
) -> Raster:
    near = depth.detach().amin(1) * 0.5
    far = depth.detach().amax(1) * 2.0
    clip = pixels_to_clip(xy.float(), depth.float(), (size, size), near, far)
    return rasterize(clip, tris, (size, size), backend=backend)


def _depth_map(
    xy: torch.Tensor, depth: torch.Tensor, size: int, tris: torch.Tensor, backend: Backend
) -> torch.Tensor:
    """(K, size, size) camera depth of the nearest surface, 0 where the mesh is absent."""
    raster = _raster(xy, depth, size, tris, backend)
    return interpolate(depth[..., None].float(), raster, tris)[..., 0]


def _read_nearest(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """image (H, W) read at the nearest pixel of positions (h, w, 2); 0 outside."""
    height, width = image.shape
    x = torch.round(xy[..., 0]).long()
    y = torch.round(xy[..., 1]).long()
    ok = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    values = image[y.clamp(0, height - 1), x.clamp(0, width - 1)]
    return torch.where(ok, values, torch.zeros_like(values))


def frame_positions(alignment: Alignment, flow: torch.Tensor) -> torch.Tensor:
    """Neighbour positions in frame pixels (N, n, n, 2) from a crop's flow (N, 2, n, n)."""
    grid = crop_grid(alignment.crop_size, flow.device)
    return _apply(alignment.frame_from_crop, grid + flow.permute(0, 2, 3, 1))
