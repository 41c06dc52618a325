"""nvdiffrast backend: NVIDIA's CUDA rasteriser, used when it is importable and data is on a GPU.

nvdiffrast is not on PyPI. To use it, install a CUDA build of torch first, then

    pip install git+https://github.com/NVlabs/nvdiffrast

(it compiles its CUDA kernels on first use, so a CUDA toolkit and ninja must be present). Without
it, `rasterize(..., backend="auto")` falls back to the pure torch rasteriser, which gives the
same triangle ids except on exact edges. Mind its licence: the NVIDIA Source Code License allows
non-commercial use only, so it stays an optional extra the user installs, never a dependency.

Its `rasterize` returns rast (B, H, W, 4) = (u, v, z/w, triangle_id + 1) where u and v are the
perspective-correct weights of the triangle's vertices 0 and 1 (vertex 2 gets 1 - u - v) and
id 0 means empty; its row 0 is at NDC y = -1, the same convention as render/rasterize.py.
"""

from __future__ import annotations

import torch

_CONTEXTS: dict[int, object] = {}


def _context(device: torch.device) -> object:
    """One RasterizeCudaContext per CUDA device, created lazily."""
    import nvdiffrast.torch as dr

    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _CONTEXTS:
        _CONTEXTS[index] = dr.RasterizeCudaContext(device=torch.device("cuda", index))
    return _CONTEXTS[index]


def rasterize_nvdiffrast(
    verts_clip: torch.Tensor, tris: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterise with nvdiffrast and convert to the Raster fields.

    Args:
        verts_clip: (B, V, 4) float32 CUDA clip-space positions.
        tris: (F, 3) int64 CUDA vertex indices.

    Returns:
        tri_id (B, H, W) int64 (-1 empty), bary (B, H, W, 3), depth (B, H, W) z/w.
    """
    import nvdiffrast.torch as dr

    glctx = _context(verts_clip.device)
    rast, _ = dr.rasterize(
        glctx, verts_clip.contiguous(), tris.int().contiguous(), resolution=[height, width]
    )
    tri_id = rast[..., 3].round().long() - 1
    u, v = rast[..., 0], rast[..., 1]
    covered = (tri_id >= 0).to(rast.dtype)
    bary = torch.stack([u, v, (1.0 - u - v) * covered], dim=-1)
    return tri_id, bary, rast[..., 2]
