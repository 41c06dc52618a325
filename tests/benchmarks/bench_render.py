"""Speed of the renderer on the real ICT face: rasterise and full prior set, 128 and 256 crops.

Run from the repository root: `python tests/benchmarks/bench_render.py [--png OUT.png]`.
Prints medians over repeats, and a baseline measured in the same run: a brute-force rasteriser
(every pixel against every triangle, dense torch) on the same face at 64x64, whose cost per
pixel x triangle is scaled up for the ratio. With CUDA, also batched faces per second.
Writes a PNG (render | normals | depth | parts) for a look.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.render.priors import render_priors  # noqa: E402
from facesr_video.render.rasterize import pixels_to_clip, rasterize  # noqa: E402
from tests.conftest import ICT_NPZ  # noqa: E402
from tests.render.scene import face_scene, load_model  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    """Median time of fn() in milliseconds, after two warm-up calls.

    On CPU this is the process CPU time (one torch thread by default, see --threads), which other
    jobs on a shared machine disturb far less than wall time; on CUDA it is wall time after a
    synchronise.
    """
    fn()
    fn()
    cuda = torch.cuda.is_available()
    clock = time.perf_counter if cuda else time.process_time
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(clock() - start)
    return 1000.0 * statistics.median(times)


def median_wall_ms(fn, repeats: int) -> float:
    """Median wall-clock time of fn() in milliseconds (disturbed by other jobs on the machine)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def brute_force_ids(clip: torch.Tensor, tris: torch.Tensor, size: int) -> torch.Tensor:
    """Reference rasteriser: every pixel centre against every triangle (chunked), (H, W) ids."""
    v = clip[0]
    sx = (v[:, 0] / v[:, 3] + 1) * size / 2 - 0.5
    sy = (v[:, 1] / v[:, 3] + 1) * size / 2 - 0.5
    sz = v[:, 2] / v[:, 3]
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    px, py = xs.reshape(-1, 1), ys.reshape(-1, 1)
    best = torch.full((size * size,), float("inf"))
    ids = torch.full((size * size,), -1, dtype=torch.int64)
    for lo in range(0, tris.shape[0], 2048):
        t = tris[lo : lo + 2048]
        x0, x1, x2 = (sx[t[:, k]][None] for k in range(3))
        y0, y1, y2 = (sy[t[:, k]][None] for k in range(3))
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        s = torch.sign(area)
        e0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) * s
        e1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) * s
        e2 = ((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)) * s
        inside = (e0 > 0) & (e1 > 0) & (e2 > 0) & (area != 0)
        z = (e0 * sz[t[:, 0]] + e1 * sz[t[:, 1]] + e2 * sz[t[:, 2]]) / area.abs()
        z = torch.where(inside, z, torch.full_like(z, float("inf")))
        zmin, arg = z.min(1)
        better = zmin < best
        best = torch.where(better, zmin, best)
        ids = torch.where(better, arg + lo, ids)
    return ids.view(size, size)


def save_png(maps: torch.Tensor, path: Path) -> None:
    """Write render | normals | depth | parts of the first face as one PNG."""
    from PIL import Image

    m = maps[0].detach().cpu()
    render = m[0:3]
    normals = (m[3:6] * 0.5 + 0.5) * m[7:8]
    depth = m[6:7].expand(3, -1, -1)
    palette = torch.tensor(
        [[0.8, 0.8, 0.8], [0.1, 0.6, 0.1], [0.1, 0.2, 0.9], [0.95, 0.6, 0.1], [0.9, 0.1, 0.1]]
    )
    parts = torch.einsum("phw,pc->chw", m[8:13], palette)
    strip = torch.cat([render, normals, depth, parts], dim=2).clamp(0, 1)
    image = (strip.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(image).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, default=Path("render_priors.png"))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not ICT_NPZ.exists():
        sys.exit(f"needs the ICT face model at {ICT_NPZ}")
    model = load_model(ICT_NPZ)
    tris = torch.as_tensor(model.triangles)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, faces {tris.shape[0]}")

    cam, xy = face_scene(model, 64)
    clip = pixels_to_clip(xy, cam[..., 2], (64, 64), 30.0, 120.0)
    brute = median_ms(lambda: brute_force_ids(clip, tris, 64), max(3, args.repeats // 10))
    ours64 = median_ms(lambda: rasterize(clip, tris, (64, 64), "torch"), args.repeats)
    agree = rasterize(clip, tris, (64, 64), "torch").tri_id[0] == brute_force_ids(clip, tris, 64)
    print(
        f"baseline brute force 64x64: {brute:8.2f} ms   torch backend {ours64:6.2f} ms   "
        f"speed-up x{brute / ours64:.0f}   same ids {100 * agree.float().mean():.2f}%"
    )
    for size, target in ((128, 15.0), (256, 40.0)):
        cam, xy = face_scene(model, size)
        clip = pixels_to_clip(xy, cam[..., 2], (size, size), 30.0, 120.0)
        shape = (size, size)
        rast = median_ms(partial(rasterize, clip, tris, shape, "torch"), args.repeats)
        job = partial(render_priors, model, cam, xy, shape, backend="torch")
        full = median_ms(job, args.repeats)
        wall = median_wall_ms(job, args.repeats)
        brute_scaled = brute * (size / 64) ** 2
        print(
            f"{size}x{size}: rasterise {rast:6.2f} ms   full prior set {full:6.2f} ms "
            f"(wall {wall:6.2f} ms) "
            f"(target <= {target:.0f} ms, {'met' if full <= target else 'MISSED'})   "
            f"brute force scaled x{brute_scaled / rast:.0f} slower"
        )
    batch = 8
    cam, xy = face_scene(model, 128, yaws_deg=tuple(np.linspace(-40, 40, batch)))
    full_b = median_ms(lambda: render_priors(model, cam, xy, (128, 128), backend="torch"), 10)
    print(f"cpu batch {batch} @128: {full_b:.1f} ms, {1000 * batch / full_b:.0f} faces/s")
    if torch.cuda.is_available():
        for batch in (1, 32, 128):
            cam, xy = face_scene(model, 128, yaws_deg=tuple(np.linspace(-40, 40, batch)))
            cam, xy = cam.cuda(), xy.cuda()
            ms = median_ms(partial(render_priors, model, cam, xy, (128, 128)), 20)
            backend = render_priors(model, cam, xy, (128, 128)).raster.backend
            print(
                f"cuda ({backend}) batch {batch} @128: {ms:.2f} ms, {1000 * batch / ms:.0f} faces/s"
            )
    cam, xy = face_scene(model, 256, yaws_deg=(-30.0,))
    save_png(render_priors(model, cam, xy, (256, 256)).maps, args.png)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
