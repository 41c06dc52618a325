"""Torch rasteriser against a brute-force per-pixel reference, depth test, edge cases, batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facesr_video.render import torch_backend
from facesr_video.render.rasterize import pixels_to_clip, rasterize


def reference_ids(clip: torch.Tensor, tris: torch.Tensor, height: int, width: int):
    """Every pixel centre against every triangle in float64: ids (H, W) and an ambiguity mask.

    A pixel is ambiguous when some triangle's edge passes within 1e-4 px of its centre, or two
    candidate depths are within 1e-6: there float32 and float64 may legitimately disagree.
    """
    v = clip[0].double().numpy()
    sx = (v[:, 0] / v[:, 3] + 1) * width / 2 - 0.5
    sy = (v[:, 1] / v[:, 3] + 1) * height / 2 - 0.5
    sz = v[:, 2] / v[:, 3]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    ids = -np.ones((height, width), np.int64)
    best = np.full((height, width), np.inf)
    second = np.full((height, width), np.inf)
    ambiguous = np.zeros((height, width), bool)
    for f, (a, b, c) in enumerate(tris.numpy()):
        area = (sx[b] - sx[a]) * (sy[c] - sy[a]) - (sy[b] - sy[a]) * (sx[c] - sx[a])
        if area == 0:
            continue
        s = np.sign(area)
        edges, dists = [], []
        for i, j in ((b, c), (c, a), (a, b)):
            e = ((sx[j] - sx[i]) * (ys - sy[i]) - (sy[j] - sy[i]) * (xs - sx[i])) * s
            edges.append(e)
            dists.append(e / np.hypot(sx[j] - sx[i], sy[j] - sy[i]))
        d = np.stack(dists)
        inside = (d > 0).all(0)
        z = (edges[0] * sz[a] + edges[1] * sz[b] + edges[2] * sz[c]) / abs(area)
        inside &= (z >= -1) & (z <= 1)
        ambiguous |= (np.abs(d).min(0) < 1e-4) & (d > -1e-4).all(0)
        closer = inside & (z < best)
        second = np.where(closer, best, np.where(inside, np.minimum(second, z), second))
        best = np.where(closer, z, best)
        ids[closer] = f
    both = np.isfinite(second)
    ambiguous[both] |= np.abs(second[both] - best[both]) < 1e-6
    return ids, ambiguous


def random_mesh(seed: int, height: int, width: int, verts: int = 40, faces: int = 30):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(1, verts, 2, generator=g) * torch.tensor(
        [width, height]
    ) * 1.3 - 0.15 * torch.tensor([width, height])
    depth = torch.rand(1, verts, generator=g) * 8 + 2
    clip = pixels_to_clip(xy, depth, (height, width), 1.0, 12.0)
    tris = torch.randint(0, verts, (faces, 3), generator=g)
    return clip, tris


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_reference(seed: int) -> None:
    height, width = 37, 52
    clip, tris = random_mesh(seed, height, width)
    ours = rasterize(clip, tris, (height, width), backend="torch").tri_id[0].numpy()
    ref, ambiguous = reference_ids(clip, tris, height, width)
    assert (ref >= 0).sum() > 100  # the scene really draws something
    wrong = (ours != ref) & ~ambiguous
    assert wrong.sum() == 0, f"{wrong.sum()} pixels differ away from edges"


def dense_mesh(seed: int, height: int, width: int, step: float = 0.7):
    """A jittered grid of triangles under a pixel across, most of them between pixel centres
    (what a face mesh drawn at a crop's size looks like), partly off the image."""
    g = torch.Generator().manual_seed(seed)
    xs = torch.arange(-2.0, width + 2.0, step)
    ys = torch.arange(-2.0, height * 0.7, step)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    xy = (
        torch.stack([gx, gy], -1).reshape(1, -1, 2)
        + torch.rand(1, gx.numel(), 2, generator=g) * 0.3
    )
    depth = 3.0 + torch.rand(1, gx.numel(), generator=g)
    clip = pixels_to_clip(xy, depth, (height, width), 1.0, 12.0)
    rows, cols = gx.shape
    quads = torch.arange(rows * cols).view(rows, cols)[:-1, :-1].reshape(-1)
    tris = torch.cat(
        [
            torch.stack([quads, quads + 1, quads + cols], 1),
            torch.stack([quads + 1, quads + cols + 1, quads + cols], 1),
        ]
    )
    return clip, tris


def test_subpixel_triangles_match_the_reference_and_batch() -> None:
    """Most of these triangles hold no pixel centre and are culled before their set-up; the ones
    that do still draw every pixel as the reference does, in a batch as alone."""
    height, width = 14, 18
    clip, tris = dense_mesh(0, height, width)
    assert tris.shape[0] > 2 * height * width
    ours = rasterize(clip, tris, (height, width), backend="torch").tri_id[0].numpy()
    ref, ambiguous = reference_ids(clip, tris, height, width)
    assert (ref >= 0).sum() > 100
    wrong = (ours != ref) & ~ambiguous
    assert wrong.sum() == 0, f"{wrong.sum()} pixels differ away from edges"
    other, _ = dense_mesh(1, height, width)
    both = rasterize(torch.cat([other, clip]), tris, (height, width), "torch").tri_id
    assert torch.equal(both[1], torch.from_numpy(ours))


def test_nearest_triangle_wins_whatever_the_order() -> None:
    corners = torch.tensor([[2.0, 2.0], [28.0, 3.0], [4.0, 27.0]])
    xy = torch.cat([corners, corners]).unsqueeze(0)  # the same triangle twice, at two depths
    depth = torch.tensor([[5.0, 5.0, 5.0, 3.0, 3.0, 3.0]])  # second triangle nearer
    clip = pixels_to_clip(xy, depth, (32, 32), 1.0, 10.0)
    for tris, near_id in (
        (torch.tensor([[0, 1, 2], [3, 4, 5]]), 1),
        (torch.tensor([[3, 4, 5], [0, 1, 2]]), 0),
    ):
        raster = rasterize(clip, tris, (32, 32), backend="torch")
        covered = raster.tri_id[0] >= 0
        assert covered.sum() > 200
        assert (raster.tri_id[0][covered] == near_id).all()
        # depth is the nearer surface's z/w
        z_near = clip[0, 3, 2] / clip[0, 3, 3]
        centre = raster.depth[0, 10, 10]
        assert raster.tri_id[0, 10, 10] == near_id
        assert torch.isclose(centre, z_near, atol=1e-5)


def test_empty_scene_and_offscreen_and_behind_camera() -> None:
    tris = torch.tensor([[0, 1, 2]])
    empty = rasterize(torch.zeros(2, 0, 4), torch.zeros(0, 3, dtype=torch.int64), (8, 9), "torch")
    assert empty.tri_id.shape == (2, 8, 9) and (empty.tri_id == -1).all()
    assert (empty.bary == 0).all() and empty.bary.shape == (2, 8, 9, 3)
    off = pixels_to_clip(
        torch.tensor([[[100.0, 100.0], [120.0, 100.0], [100.0, 130.0]]]),
        torch.full((1, 3), 4.0),
        (8, 8),
        1.0,
        10.0,
    )
    assert (rasterize(off, tris, (8, 8), "torch").tri_id == -1).all()
    behind = off.clone()
    behind[..., 3] = -1.0
    assert (rasterize(behind, tris, (8, 8), "torch").tri_id == -1).all()
    # beyond the far plane is clipped
    far = pixels_to_clip(
        torch.tensor([[[0.0, 0.0], [7.0, 0.0], [0.0, 7.0]]]),
        torch.full((1, 3), 20.0),
        (8, 8),
        1.0,
        10.0,
    )
    assert (rasterize(far, tris, (8, 8), "torch").tri_id == -1).all()


def test_shared_edges_are_watertight() -> None:
    # A grid of quads split in two triangles: every pixel centre inside is drawn exactly once.
    n = 7
    gx, gy = torch.meshgrid(
        torch.linspace(0.3, 30.7, n), torch.linspace(0.3, 30.7, n), indexing="xy"
    )
    xy = torch.stack([gx, gy], -1).reshape(1, -1, 2)
    xy = xy + 0.37 * torch.sin(xy * 1.7)  # irregular, with centres landing near edges
    idx = torch.arange(n * n).view(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    tris = torch.cat(
        [torch.stack([a, b, d], -1).reshape(-1, 3), torch.stack([a, d, c], -1).reshape(-1, 3)]
    )
    clip = pixels_to_clip(xy, torch.full((1, n * n), 5.0), (32, 32), 1.0, 10.0)
    raster = rasterize(clip, tris, (32, 32), "torch")
    inner = raster.tri_id[0, 2:29, 2:29]
    assert (inner >= 0).all(), "hole inside a closed mesh"


def test_batch_equals_single_images() -> None:
    clip_a, tris = random_mesh(1, 24, 30)
    clip_b, _ = random_mesh(2, 24, 30)
    both = rasterize(torch.cat([clip_a, clip_b]), tris, (24, 30), "torch")
    one = rasterize(clip_a, tris, (24, 30), "torch")
    two = rasterize(clip_b, tris, (24, 30), "torch")
    assert torch.equal(both.tri_id, torch.cat([one.tri_id, two.tri_id]))
    assert torch.allclose(both.bary, torch.cat([one.bary, two.bary]))


def test_chunked_candidates_give_the_same_image(monkeypatch: pytest.MonkeyPatch) -> None:
    clip, tris = random_mesh(3, 40, 40, faces=40)
    whole = rasterize(clip, tris, (40, 40), "torch").tri_id
    monkeypatch.setattr(torch_backend, "_MAX_CANDIDATES", 97)
    assert torch.equal(rasterize(clip, tris, (40, 40), "torch").tri_id, whole)


def test_barycentrics_are_perspective_correct() -> None:
    # A slanted triangle: interpolating the camera depth with the barycentrics must give the
    # depth of the 3D point seen through the pixel, i.e. 1/z interpolates linearly on screen.
    xy = torch.tensor([[[1.0, 1.0], [30.0, 1.0], [1.0, 30.0]]])
    depth = torch.tensor([[2.0, 10.0, 2.0]])
    clip = pixels_to_clip(xy, depth, (32, 32), 1.0, 20.0)
    raster = rasterize(clip, torch.tensor([[0, 1, 2]]), (32, 32), "torch")
    z = (raster.bary[0] * depth[0]).sum(-1)
    x = torch.arange(32.0)
    expected = 1.0 / (1 / 2.0 + (1 / 10.0 - 1 / 2.0) * (x - 1.0) / 29.0)
    row = 5
    cols = raster.tri_id[0, row] >= 0
    assert cols.sum() > 10
    assert torch.allclose(z[row][cols], expected[cols], rtol=1e-4)
    assert torch.allclose(raster.bary.sum(-1)[raster.mask], torch.ones(int(raster.mask.sum())))
