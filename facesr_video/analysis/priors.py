"""From fitted faces to the prior maps of their high-resolution crops (batched, torch).

The fit lives in low-resolution frame pixels; the crop of the network's output is the aligned
low-resolution crop upscaled by S. A vertex's pixel in that crop is therefore
crop_from_frame (at scale S) applied to its projection in the frame upscaled by S, with the
pixel-centre convention x_S = S * x + (S - 1) / 2 of `Alignment.scaled`. The maps are rasterised
at a smaller scale of the same convention (`RENDER_DETAIL`) and resized up to the output crop
(bilinear); enhance keeps them at the crop's own size, and the network reads them as that upscale
without making it (sr/bilinear.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from facesr_video.faces.align import Alignment
from facesr_video.morph.camera import camera_vertices_torch, project_torch
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit
from facesr_video.render.layout import pack_coefficients, prior_layout
from facesr_video.render.priors import PriorMaps, render_priors
from facesr_video.render.rasterize import Backend

RENDER_DETAIL = 1
"""Prior maps are rasterised at the low-resolution crop size times this, then resized up to the
output crop (bilinear). The network reads them as a smooth face layout, so rendering at the
low-resolution size (1) scores the same face PSNR on the White House clips as rendering at the
output size (within 0.003 dB at x4 and x8, 0.02 at x2), with 1/S^2 of the pixels to rasterise
(docs/measurements.md)."""

_BASES: dict[tuple[int, str], tuple[FaceModel, torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _model_bases(model: FaceModel, device: torch.device) -> tuple[torch.Tensor, ...]:
    """mean (V*3,), identity (K, V*3), expression (E, V*3) float32 on device, cached per model."""
    key = (id(model), str(device))
    hit = _BASES.get(key)
    if hit is None or hit[0] is not model:
        mean = torch.as_tensor(model.mean.reshape(-1), dtype=torch.float32, device=device)
        ident = torch.as_tensor(
            model.identity_basis.reshape(model.num_identity, -1), dtype=torch.float32
        ).to(device)
        expr = torch.as_tensor(
            model.expression_basis.reshape(model.num_expression, -1), dtype=torch.float32
        ).to(device)
        hit = (model, mean, ident, expr)
        _BASES[key] = hit
    return hit[1:]


def fit_tensors(fits: Sequence[FaceFit], device: torch.device) -> dict[str, torch.Tensor]:
    """Stack fits into batched tensors: identity (B, K), expression (B, E), rotation (B, 3),
    translation (B, 3), focal (B,), principal (B, 2), sh (B, 9, 3) (zeros where unfitted)."""

    def stack(values: list[np.ndarray]) -> torch.Tensor:
        return torch.as_tensor(np.stack(values), dtype=torch.float32, device=device)

    return {
        "identity": stack([f.identity for f in fits]),
        "expression": stack([f.expression for f in fits]),
        "rotation": stack([np.asarray(f.rotation) for f in fits]),
        "translation": stack([np.asarray(f.translation) for f in fits]),
        "focal": stack([np.float32(f.camera.focal) for f in fits]),
        "principal": stack([np.array([f.camera.cx, f.camera.cy]) for f in fits]),
        "sh": stack(
            [f.lighting if f.lighting is not None else np.zeros((9, 3), np.float32) for f in fits]
        ),
    }


def _vertices(model: FaceModel, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    mean, ident, expr = _model_bases(model, t["identity"].device)
    flat = mean + t["identity"] @ ident + t["expression"] @ expr  # (B, V*3)
    vertices = flat.view(t["identity"].shape[0], model.num_vertices, 3)
    cam = camera_vertices_torch(vertices, t["rotation"], t["translation"])
    return cam, project_torch(cam, t["focal"], t["principal"])


def fit_vertices(
    model: FaceModel, fits: Sequence[FaceFit], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera-space vertices (B, V, 3) and their low-resolution frame pixels (B, V, 2)."""
    return _vertices(model, fit_tensors(fits, torch.device(device)))


def crop_pixels(
    frame_xy: torch.Tensor, alignments: Sequence[Alignment], scale: int
) -> torch.Tensor:
    """Frame pixels (B, V, 2) at low resolution -> pixels of each crop upscaled by `scale`."""
    matrices = np.stack([a.scaled(scale).crop_from_frame for a in alignments])
    m = torch.as_tensor(matrices, dtype=frame_xy.dtype, device=frame_xy.device)  # (B, 2, 3)
    hr_xy = frame_xy * scale + (scale - 1) / 2.0
    return hr_xy @ m[:, :, :2].transpose(1, 2) + m[:, None, :, 2]


def render_face_priors(
    model: FaceModel,
    fits: Sequence[FaceFit],
    alignments: Sequence[Alignment],
    scale: int,
    device: torch.device | str = "cpu",
    backend: Backend = "auto",
    detail: int = RENDER_DETAIL,
    memory_format: torch.memory_format = torch.channels_last,
    upscale: bool = True,
) -> PriorMaps:
    """Prior maps (B, C, S*n, S*n) and coefficients (B, D) for faces sharing one crop size n,
    rasterised at `detail`*n (1 <= detail <= S, dividing S) and resized up to S*n (bilinear;
    the returned raster is the one at `detail`*n), in the `memory_format` the network's
    runtime reads without a copy. upscale=False returns the maps as rasterised (the network
    reads maps at n x n as their bilinear upscale without making it)."""
    sizes = {a.crop_size for a in alignments}
    if len(sizes) != 1 or len(fits) != len(alignments) or not fits:
        raise ValueError(f"need one or more faces of one crop size, got sizes {sorted(sizes)}")
    if not 1 <= detail <= scale or scale % detail:
        raise ValueError(f"detail must divide the scale {scale} (1 to {scale}), got {detail}")
    device = torch.device(device)
    t = fit_tensors(fits, device)
    cam, frame_xy = _vertices(model, t)
    screen = crop_pixels(frame_xy, alignments, detail)
    layout = prior_layout(model)
    coefficients = pack_coefficients(
        layout, t["identity"], t["expression"], t["rotation"], t["translation"], t["sh"]
    )
    crop = sizes.pop()
    lit = all(f.lighting is not None for f in fits)
    priors = render_priors(
        model,
        cam,
        screen,
        (crop * detail, crop * detail),
        sh=t["sh"] if lit else None,
        # Fitted lighting absorbed the skin colour (albedo 1); unlit fits get the flat default.
        albedo=torch.ones_like(cam) if lit else None,
        coefficients=coefficients,
        backend=backend,
    )
    if not upscale:
        return replace(priors, maps=priors.maps.contiguous(memory_format=memory_format))
    return resized(priors, crop * scale, memory_format)


def resized(
    priors: PriorMaps, size: int, memory_format: torch.memory_format = torch.channels_last
) -> PriorMaps:
    """The maps resized to (size, size) by bilinear interpolation (pixel centres kept, as
    `Alignment.scaled` maps them), in `memory_format` (the resize writes it: no extra copy)."""
    maps = priors.maps.contiguous(memory_format=memory_format)  # small: before the resize
    if maps.shape[-1] != size:  # the resize writes its input's memory format
        maps = F.interpolate(maps, size=(size, size), mode="bilinear", align_corners=False)
    return replace(priors, maps=maps)
