"""How much the evaluate metrics cost per frame, against a plain MSE measured in the same run.

Run: python tests/benchmarks/bench_eval_metrics.py [--size 256] [--batch 32]
Prints milliseconds per face crop for each metric and its ratio to torch's MSE (the baseline),
plus the degradation per 1280x720 frame against a plain Pillow BICUBIC resize without antialias
concerns (same call, reducing_gap left at Pillow's default).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.eval.identity import IdentityEncoder
from facesr_video.eval.metrics import psnr, ssim, temporal_flicker


def _best_of(function: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="face crop side in pixels")
    parser.add_argument("--batch", type=int, default=32, help="face crops per call")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    b = (a + 0.05 * torch.randn(a.shape, generator=generator)).clamp(0, 1)
    mask = torch.ones(args.batch, 1, args.size, args.size)

    baseline = _best_of(lambda: torch.mean((a - b) ** 2, dim=(1, 2, 3)))
    timings = {
        "psnr": _best_of(lambda: psnr(a, b)),
        "psnr (mask)": _best_of(lambda: psnr(a, b, mask)),
        "ssim (luma)": _best_of(lambda: ssim(a, b)),
        "ssim (rgb)": _best_of(lambda: ssim(a, b, luma=False)),
        "flicker": _best_of(lambda: temporal_flicker(a, b, mask)),
    }
    print(
        f"face crops {args.batch} x 3 x {args.size} x {args.size},",
        f"{torch.get_num_threads()} threads",
    )
    print(f"{'baseline mse':>14}: {baseline / args.batch * 1e3:8.3f} ms/crop   1.0x")
    for name, seconds in timings.items():
        print(f"{name:>14}: {seconds / args.batch * 1e3:8.3f} ms/crop {seconds / baseline:6.1f}x")

    encoder = IdentityEncoder()
    face = (np.asarray(a[0].permute(1, 2, 0)) * 255).astype(np.uint8)
    identity = _best_of(lambda: encoder.describe(face), repeats=3)
    print(
        f"{'identity':>14}: {identity * 1e3:8.3f} ms/face",
        f"{identity / (baseline / args.batch):6.0f}x",
    )

    frame = (np.random.default_rng(0).random((720, 1280, 3)) * 255).astype(np.uint8)
    plain = _best_of(
        lambda: Image.fromarray(frame).resize((320, 180), Image.Resampling.BICUBIC), repeats=3
    )
    ours = _best_of(lambda: downscale(frame, 4), repeats=3)
    print(
        f"degrade x4 1280x720: {ours * 1e3:.2f} ms/frame vs Pillow default {plain * 1e3:.2f} ms"
        f" ({ours / plain:.2f}x)"
    )


if __name__ == "__main__":
    main()
