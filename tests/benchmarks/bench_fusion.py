"""What a multi-frame network's neighbours add, on held-out training-store patches.

    python tests/benchmarks/bench_fusion.py STORE WEIGHTS --holdout GLOB [--holdout GLOB ...]
        [--registration mesh|box] [--synthetic] [--patch 32] [--degradation bicubic|h264|...]

The same weights run each held-out patch twice: with its registered neighbours and with none
(confidence 0, where the fusion adds exactly nothing), on clean bicubic input (or another
`--degradation`, each frame degraded on its own); printed: PSNR of
bicubic, one frame and all frames, the gain, and the mean confidence the neighbours carried.
`--synthetic` gives every patch moved copies of itself with exact sub-pixel motion (what
`train --synthetic-neighbours` learns from): the fusion's ceiling without registration error.
A picture (LR | one frame | all frames | HR, four patches) is written beside the weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.patches import PatchDataset, SRBatch
from facesr_video.dataset.store import StoreReader, match_sources
from facesr_video.eval.metrics import psnr
from facesr_video.sr.neighbours import warp_neighbours
from facesr_video.sr.weights import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("weights", type=Path)
    parser.add_argument("--holdout", action="append", required=True)
    parser.add_argument("--registration", default="mesh", choices=("mesh", "box"))
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--patch", type=int, default=None, help="LR px (default 32 x4, 16 x8)")
    parser.add_argument("--max", type=int, default=96, help="patches at most")
    parser.add_argument("--degradation", default="bicubic", help="a train --degradation name")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, info = load_model(args.weights)
    model.eval()
    if model.fusion is None:
        raise SystemExit(f"{args.weights} is a single-frame network (frames 1)")
    reader = StoreReader(args.store)
    if reader.scale != model.config.scale:
        reader = StoreReader(args.store, scale=model.config.scale)
    _, held = reader.split(match_sources(reader.sources(), args.holdout))
    held = held[: args.max]
    patch = args.patch or (32 if reader.scale <= 4 else 16)
    channels = [reader.layout.channels.index(n) for n in info.layout_channels]
    data = PatchDataset(
        reader,
        held,
        patch,
        train=False,
        degrade_config=DEGRADATIONS[args.degradation],
        channels=channels,
        neighbours=model.config.neighbours,
        registration=args.registration,
        synthetic_neighbours=args.synthetic,
    )
    items = [data[(i, 10_000 + i)] for i in range(len(held))]
    batch = SRBatch(*(torch.stack(t) for t in zip(*items, strict=True)))
    priors = batch.priors if model.config.uses_maps else None
    coeffs = batch.coeffs if model.config.uses_coeffs else None
    with torch.no_grad():
        nb = warp_neighbours(batch.lr, batch.nb_lr, batch.nb_pos, batch.nb_conf)
        alone = model(batch.lr, priors, coeffs).clamp(0, 1)
        fused = model(batch.lr, priors, coeffs, nb.warped, nb.confidence).clamp(0, 1)
    bicubic = F.interpolate(batch.lr, scale_factor=reader.scale, mode="bicubic").clamp(0, 1)
    scores = {
        name: float(psnr(x, batch.hr).mean())
        for name, x in (("bicubic", bicubic), ("one frame", alone), ("all frames", fused))
    }
    kind = "synthetic (exact) motion" if args.synthetic else f"{args.registration} registration"
    print(
        f"{args.weights} on {len(held)} held-out patches of {args.store} ({kind}), x{reader.scale}"
    )
    print(f"mean neighbour confidence: {float(nb.confidence.mean()):.3f}")
    for name, value in scores.items():
        print(f"{name:>11}: {value:6.2f} dB")
    print(f" all - one : {scores['all frames'] - scores['one frame']:+.3f} dB")
    up = F.interpolate(batch.lr, scale_factor=reader.scale, mode="nearest")
    rows = [torch.cat([up[i], alone[i], fused[i], batch.hr[i]], dim=2) for i in range(4)]
    sheet = torch.cat(rows[: len(held)], dim=1).permute(1, 2, 0).numpy()
    out = args.weights.with_name(
        f"fusion-{'synthetic' if args.synthetic else args.registration}.png"
    )
    Image.fromarray((sheet * 255 + 0.5).astype(np.uint8)).save(out)
    print(f"picture (LR | one frame | all frames | HR): {out}")


if __name__ == "__main__":
    main()
