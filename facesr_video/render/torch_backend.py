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
        table, live, count = _triangle_setup(sx, sy, sz, w, tris, height, width)
        keys = torch.full((batch * height * width,), _EMPTY_KEY, dtype=torch.int64, device=device)
        kept = count.nonzero().squeeze(1)
        if kept.numel() == 0:
            return torch.full((batch, height, width), -1, dtype=torch.int64, device=device)
        table = table.index_select(0, kept)
        live = live.index_select(0, kept)
        counts = count.index_select(0, kept)
        ends = counts.cumsum(0)
        # Chunk over triangles so that no chunk holds more than _MAX_CANDIDATES candidates.
        bounds = [0]
        if int(ends[-1]) > _MAX_CANDIDATES:
            steps = torch.arange(_MAX_CANDIDATES, int(ends[-1]), _MAX_CANDIDATES, device=device)
            bounds += sorted({int(c) + 1 for c in torch.searchsorted(ends, steps).tolist()})
        bounds.append(live.numel())
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                _scatter_chunk(
                    keys, table[lo:hi], live[lo:hi], counts[lo:hi], num_tris, height, width
                )
        tri_id = torch.where(keys == _EMPTY_KEY, torch.full_like(keys, -1), keys & 0xFFFFFFFF)
        return tri_id.view(batch, height, width)


def _triangle_setup(
    sx: torch.Tensor,
    sy: torch.Tensor,
    sz: torch.Tensor,
    w: torch.Tensor,
    tris: torch.Tensor,
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-triangle coverage set-up: affine edge functions, depth plane and pixel bounding box.

    Bounding boxes come first: a dense mesh drawn at a crop's size has most of its triangles
    between pixel centres or off the image (about 80% on a 48 px crop, a third on 128 px), and
    the rest of the set-up is made for the others only.

    Coordinates are centred on the image (X = x - (W-1)/2) to keep float32 error small. Each edge
    function is computed from its two vertices in index order and then negated as needed, so two
    triangles sharing an edge get exactly opposite functions: no gaps and, with the top-left rule,
    no double hits along shared edges.

    Args:
        sx, sy, sz, w: (B, V) pixel x, y, z/w and clip w of the vertices.
        tris: (F, 3) int64.

    Returns:
        table: (T, 20) rows A (3), B (3), C (3) with edge_i = A_i X + B_i Y + C_i >= 0 inside
            (the weight of vertex i times 2|area|), owns-edge flags (3), X0, Y0, z0, dz/dX, dz/dY,
            bbox xmin, ymin (pixel indices) and bbox width, for the T triangles whose box holds a
            pixel centre;
        live: (T,) int64 their indices into the flattened (B*F) triangles;
        count: (T,) int64 pixel centres in each one's bounding box (0 when culled).
    """
    batch = sx.shape[0]
    num_tris = tris.shape[0]
    cx, cy = (width - 1) * 0.5, (height - 1) * 0.5
    flat = tris.reshape(-1)
    tx = (sx - cx).index_select(1, flat).view(batch * num_tris, 3)
    ty = (sy - cy).index_select(1, flat).view(batch * num_tris, 3)
    tw = w.index_select(1, flat).view(batch * num_tris, 3)
    xmin = (tx.amin(1) + cx).clamp(-1.0, width).ceil().clamp(min=0.0)
    xmax = (tx.amax(1) + cx).clamp(-1.0, width).floor().clamp(max=width - 1.0)
    ymin = (ty.amin(1) + cy).clamp(-1.0, height).ceil().clamp(min=0.0)
    ymax = (ty.amax(1) + cy).clamp(-1.0, height).floor().clamp(max=height - 1.0)
    nx = (xmax - xmin + 1.0).clamp(min=0.0)
    ny = (ymax - ymin + 1.0).clamp(min=0.0)
    boxed = (nx * ny * (tw > 0).all(1)).long()
    live = boxed.nonzero().squeeze(1)
    tx, ty = tx.index_select(0, live), ty.index_select(0, live)
    tz = sz.index_select(1, flat).view(batch * num_tris, 3).index_select(0, live)
    corners = tris.index_select(0, live.remainder(num_tris))

    # Edge i joins vertices (i+1)%3 -> (i+2)%3; take its ends in vertex-index order.
    # roll(-1) picks vertices (1, 2, 0), roll(1) picks (2, 0, 1).
    swap = corners.roll(-1, 1) > corners.roll(1, 1)
    ax, bx = tx.roll(-1, 1), tx.roll(1, 1)
    ay, by = ty.roll(-1, 1), ty.roll(1, 1)
    px, qx = torch.where(swap, bx, ax), torch.where(swap, ax, bx)
    py, qy = torch.where(swap, by, ay), torch.where(swap, ay, by)
    coef_a = py - qy
    coef_b = qx - px
    coef_c = (qy - py) * px - (qx - px) * py
    flip = 1.0 - 2.0 * swap.float()
    area = (coef_a[:, 0:1] * tx[:, 0:1] + coef_b[:, 0:1] * ty[:, 0:1] + coef_c[:, 0:1]) * flip[
        :, 0:1
    ]
    sign = torch.sign(area)
    orient = flip * sign
    coef_a, coef_b, coef_c = coef_a * orient, coef_b * orient, coef_c * orient
    # Top-left rule: a centre exactly on an edge belongs to the triangle for which that edge
    # points up (or right when horizontal); the neighbour sees it reversed, so exactly one owns it.
    owns = (coef_a > 0) | ((coef_a == 0) & (coef_b > 0))

    inv_area = 1.0 / area.abs().clamp(min=1e-30)
    dz = tz - tz[:, 0:1]
    dz_dx = (coef_a * dz).sum(1, keepdim=True) * inv_area
    dz_dy = (coef_b * dz).sum(1, keepdim=True) * inv_area

    valid = (area[:, 0] != 0) & torch.isfinite(area[:, 0])
    count = boxed.index_select(0, live) * valid
    table = torch.cat(
        [
            coef_a,
            coef_b,
            coef_c,
            owns.float(),
            tx[:, 0:1],
            ty[:, 0:1],
            tz[:, 0:1],
            dz_dx,
            dz_dy,
            torch.stack([xmin, ymin, nx], 1).index_select(0, live),
        ],
        1,
    )
    return table, live, count


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
        table: (T, 20) rows from `_triangle_setup`.
        tri_global: (T,) index into the flattened (B*F) triangles.
        counts: (T,) candidate pixels per triangle.
    """
    total = int(counts.sum())
    device = counts.device
    local_tri = torch.repeat_interleave(
        torch.arange(counts.numel(), device=device), counts, output_size=total
    )
    starts = counts.cumsum(0) - counts
    offset = torch.arange(total, device=device) - starts.index_select(0, local_tri)
    rows = table.index_select(0, local_tri)
    nx = rows[:, 19].long()
    row_in_box = torch.div(offset, nx, rounding_mode="floor")
    px = rows[:, 17] + (offset - row_in_box * nx).float()
    py = rows[:, 18] + row_in_box.float()
    big_x = (px - (width - 1) * 0.5)[:, None]
    big_y = (py - (height - 1) * 0.5)[:, None]
    edge = rows[:, 0:3] * big_x + rows[:, 3:6] * big_y + rows[:, 6:9]
    inside = ((edge > 0) | ((edge == 0) & (rows[:, 9:12] > 0))).all(1)
    z = (
        rows[:, 14]
        + rows[:, 15] * (big_x[:, 0] - rows[:, 12])
        + rows[:, 16] * (big_y[:, 0] - rows[:, 13])
    )
    inside &= (z >= -1.0) & (z <= 1.0)

    sel = inside.nonzero().squeeze(1)
    if sel.numel() == 0:
        return
    tri = tri_global.index_select(0, local_tri.index_select(0, sel))
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
        vidx = tris.index_select(0, flat_id.index_select(0, covered)) + (image * num_verts)[:, None]
        flat_verts = verts_clip.reshape(batch * num_verts, 4)
        p = flat_verts.index_select(0, vidx.reshape(-1)).view(-1, 3, 4)
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
