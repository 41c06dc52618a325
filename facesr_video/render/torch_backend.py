"""Pure torch triangle rasteriser: runs wherever torch runs (CPU in CI, CUDA without nvdiffrast).

Vectorised over triangle bounding boxes, with no Python loop over triangles or pixels:

1. project the clip-space vertices to pixel-index space (pixel centres at integers);
2. every triangle lists the pixel centres inside its clamped bounding box; all (triangle, pixel)
   candidates of the batch are laid out flat with ``repeat_interleave`` (exact, no padding);
3. edge functions decide coverage (a centre on an edge belongs to the triangle for which that
   edge is a top or left edge, so shared edges are drawn once);
4. the nearest candidate per pixel wins through one ``scatter_reduce(amin)`` over an int64 key
   packing (depth bits, triangle id): ties in depth go to the lower triangle id;
5. perspective-correct barycentrics and depth are then recomputed for the winning triangle of
   each covered pixel with ordinary torch ops, so they carry gradients to the vertex positions.

Triangles with a vertex at w <= 0 (behind the eye) are dropped rather than clipped; pixels whose
depth z/w falls outside [-1, 1] are clipped, as in nvdiffrast.
"""

from __future__ import annotations

import torch

# Candidates per chunk: bounds the temporary memory (~60 bytes each) for huge triangles/batches.
_MAX_CANDIDATES = 1 << 22
_EMPTY_KEY = torch.iinfo(torch.int64).max


def _screen(verts_clip: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, ...]:
    """Pixel-index coordinates of clip-space vertices.

    Args:
        verts_clip: (B, V, 4) clip-space positions.

    Returns:
        sx, sy, sz, w: each (B, V); sx, sy in pixels (centres at integers), sz = z/w.
    """
    w = verts_clip[..., 3]
    inv_w = 1.0 / torch.where(w > 0, w, torch.ones_like(w))
    sx = (verts_clip[..., 0] * inv_w + 1.0) * (0.5 * width) - 0.5
    sy = (verts_clip[..., 1] * inv_w + 1.0) * (0.5 * height) - 0.5
    sz = verts_clip[..., 2] * inv_w
    return sx, sy, sz, w


def rasterize_ids(
    verts_clip: torch.Tensor, tris: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Nearest triangle per pixel (no gradients).

    Args:
        verts_clip: (B, V, 4) float32 clip-space positions.
        tris: (F, 3) int64 vertex indices.

    Returns:
        (B, H, W) int64 triangle id, -1 where no triangle covers the pixel centre.
    """
    batch, _, _ = verts_clip.shape
    num_tris = tris.shape[0]
    device = verts_clip.device
    with torch.no_grad():
        sx, sy, sz, w = _screen(verts_clip.detach().float(), height, width)
        flat = tris.reshape(-1)
        tx = sx.index_select(1, flat).view(batch * num_tris, 3)
        ty = sy.index_select(1, flat).view(batch * num_tris, 3)
        tz = sz.index_select(1, flat).view(batch * num_tris, 3)
        tw = w.index_select(1, flat).view(batch * num_tris, 3)

        x0, x1, x2 = tx.unbind(1)
        y0, y1, y2 = ty.unbind(1)
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        # Bounding boxes of pixel centres, clamped to the image (floats clamped before int cast).
        xmin = tx.amin(1).clamp(-1.0, width).ceil()
        xmax = tx.amax(1).clamp(-1.0, width).floor()
        ymin = ty.amin(1).clamp(-1.0, height).ceil()
        ymax = ty.amax(1).clamp(-1.0, height).floor()
        xmin = xmin.clamp(min=0.0)
        ymin = ymin.clamp(min=0.0)
        xmax = xmax.clamp(max=width - 1.0)
        ymax = ymax.clamp(max=height - 1.0)
        nx = (xmax - xmin + 1.0).clamp(min=0.0)
        ny = (ymax - ymin + 1.0).clamp(min=0.0)
        valid = (tw > 0).all(1) & (area != 0) & torch.isfinite(area)
        count = (nx * ny * valid).long()

        live = count.nonzero().squeeze(1)
        keys = torch.full((batch * height * width,), _EMPTY_KEY, dtype=torch.int64, device=device)
        if live.numel() == 0:
            return torch.full((batch, height, width), -1, dtype=torch.int64, device=device)

        sign = torch.sign(area[live])
        # Oriented edges e0: v1->v2, e1: v2->v0, e2: v0->v1 (e_i is opposite vertex i).
        ex = torch.stack([x2 - x1, x0 - x2, x1 - x0], 1)[live] * sign[:, None]
        ey = torch.stack([y2 - y1, y0 - y2, y1 - y0], 1)[live] * sign[:, None]
        # Top-left rule: an edge owns the centres lying exactly on it when it points "up", or
        # is horizontal pointing right; the neighbour sharing it sees it reversed, so not both.
        owns = (ey < 0) | ((ey == 0) & (ex > 0))
        table = torch.cat(
            [
                tx[live],
                ty[live],
                tz[live],
                sign[:, None],
                1.0 / area[live].abs()[:, None],
                owns.float(),
                xmin[live, None],
                ymin[live, None],
                nx[live, None],
            ],
            1,
        )
        tri_global = live
        counts = count[live]
        ends = counts.cumsum(0)
        # Chunk over triangles so that no chunk holds more than _MAX_CANDIDATES candidates.
        bounds = [0]
        if int(ends[-1]) > _MAX_CANDIDATES:
            cuts = torch.searchsorted(
                ends, torch.arange(_MAX_CANDIDATES, int(ends[-1]), _MAX_CANDIDATES, device=device)
            )
            bounds += sorted(set(int(c) + 1 for c in cuts.tolist()))
        bounds.append(live.numel())
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi <= lo:
                continue
            _scatter_chunk(
                keys, table[lo:hi], tri_global[lo:hi], counts[lo:hi], num_tris, height, width
            )

        tri_id = torch.where(keys == _EMPTY_KEY, torch.full_like(keys, -1), keys & 0xFFFFFFFF)
        return tri_id.view(batch, height, width)


def _scatter_chunk(
    keys: torch.Tensor,
    table: torch.Tensor,
    tri_global: torch.Tensor,
    counts: torch.Tensor,
    num_tris: int,
    height: int,
    width: int,
) -> None:
    """Test the candidates of some triangles and fold the covered ones into `keys` (in place).

    Args:
        keys: (B*H*W,) int64 packed (depth bits, triangle id), min wins.
        table: (T, 17) per-triangle rows: x (3), y (3), z/w (3), orientation sign, 1/|area|,
            owns-edge flags (3), bbox xmin, ymin, width.
        tri_global: (T,) index into the flattened (B*F) triangles.
        counts: (T,) candidate pixels per triangle.
    """
    total = int(counts.sum())
    local_tri = torch.repeat_interleave(
        torch.arange(counts.numel(), device=counts.device), counts, output_size=total
    )
    starts = counts.cumsum(0) - counts
    offset = torch.arange(total, device=counts.device) - starts[local_tri]
    rows = table[local_tri]
    nx = rows[:, 16].long()
    px = rows[:, 14] + (offset % nx).float()
    py = rows[:, 15] + torch.div(offset, nx, rounding_mode="floor").float()

    tx, ty, tz = rows[:, 0:3], rows[:, 3:6], rows[:, 6:9]
    sign = rows[:, 9:10]
    inv_area = rows[:, 10:11]
    owns = rows[:, 11:14] > 0
    # Edge i runs from vertex (i+1)%3 to (i+2)%3; its value at the pixel is the weight of vertex i.
    ax = tx[:, [1, 2, 0]]
    ay = ty[:, [1, 2, 0]]
    bx = tx[:, [2, 0, 1]]
    by = ty[:, [2, 0, 1]]
    edge = ((bx - ax) * (py[:, None] - ay) - (by - ay) * (px[:, None] - ax)) * sign
    inside = ((edge > 0) | ((edge == 0) & owns)).all(1)
    lam = edge * inv_area
    z = (lam * tz).sum(1)
    inside &= (z >= -1.0) & (z <= 1.0)

    sel = inside.nonzero().squeeze(1)
    if sel.numel() == 0:
        return
    tri = tri_global[local_tri[sel]]
    image = torch.div(tri, num_tris, rounding_mode="floor")
    pix = image * (height * width) + py[sel].long() * width + px[sel].long()
    depth01 = ((z[sel] + 1.0) * 0.5).clamp(0.0, 1.0).contiguous()
    key = (depth01.view(torch.int32).long() << 32) | (tri - image * num_tris)
    keys.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)


def barycentrics(
    verts_clip: torch.Tensor, tris: torch.Tensor, tri_id: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective-correct barycentrics and depth of each pixel centre in its triangle.

    Differentiable with respect to verts_clip. Uses 2D homogeneous edge functions, so no divide
    by w happens before the weights are normalised.

    Args:
        verts_clip: (B, V, 4) clip-space positions.
        tris: (F, 3) int64.
        tri_id: (B, H, W) int64, -1 where empty.

    Returns:
        bary: (B, H, W, 3) weights of the triangle's vertices 0, 1, 2 (zeros where empty).
        depth: (B, H, W) z/w in [-1, 1] (zeros where empty).
    """
    batch, num_verts, _ = verts_clip.shape
    _, height, width = tri_id.shape
    flat_id = tri_id.reshape(-1)
    covered = (flat_id >= 0).nonzero().squeeze(1)
    bary = verts_clip.new_zeros(batch * height * width, 3)
    depth = verts_clip.new_zeros(batch * height * width)
    if covered.numel() > 0:
        image = torch.div(covered, height * width, rounding_mode="floor")
        rest = covered - image * (height * width)
        py = torch.div(rest, width, rounding_mode="floor")
        px = rest - py * width
        fx = ((2 * px + 1).to(verts_clip.dtype) / width - 1.0)[:, None]
        fy = ((2 * py + 1).to(verts_clip.dtype) / height - 1.0)[:, None]
        vidx = tris[flat_id[covered]] + (image * num_verts)[:, None]
        p = verts_clip.reshape(batch * num_verts, 4)[vidx]  # (N, 3, 4)
        qx = p[..., 0] - fx * p[..., 3]
        qy = p[..., 1] - fy * p[..., 3]
        q1x, q2x, q0x = qx[:, 1], qx[:, 2], qx[:, 0]
        q1y, q2y, q0y = qy[:, 1], qy[:, 2], qy[:, 0]
        a = torch.stack([q1x * q2y - q1y * q2x, q2x * q0y - q2y * q0x, q0x * q1y - q0y * q1x], 1)
        total = a.sum(1, keepdim=True)
        total = torch.where(total == 0, torch.full_like(total, 1e-12), total)
        b = a / total
        z = (b * p[..., 2]).sum(1) / (b * p[..., 3]).sum(1)
        bary = bary.index_put((covered,), b)
        depth = depth.index_put((covered,), z)
    return bary.view(batch, height, width, 3), depth.view(batch, height, width)
