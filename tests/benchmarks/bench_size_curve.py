"""Network size against quality: CPU ms per face beside the White House gain of each size.

    python tests/benchmarks/bench_size_curve.py --report sam-tiny=R1 --report sam-light=R2 ...
        [--threads 1] [--repeats 5] [--out size_curve.png]

Each --report is a `facesr-video evaluate` report folder (REPORT/report.json) of a network of that
variant trained at the same budget. The forward time of each variant (x4, a 96 px crop, the size
of a 720p face made from 180p, prior mode "all") is measured here, beside bicubic in the same run
(the machine is shared: the ratio is what carries over). Prints a table and draws the curve.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.sr.network import count_parameters, create_model  # noqa: E402

MAPS, COEFFS, SIDE = 13, 186, 96


def forward_ms(variant: str | None, repeats: int) -> float:
    """Median ms of one x4 forward on a 96 px crop (None: bicubic)."""
    lr = torch.rand(1, 3, SIDE, SIDE)
    if variant is None:

        def run() -> object:
            return F.interpolate(lr, scale_factor=4, mode="bicubic")

    else:
        net = create_model(
            variant, scale=4, prior_mode="all", prior_channels=MAPS, coeff_dim=COEFFS
        ).eval()
        priors, coeffs = torch.rand(1, MAPS, 4 * SIDE, 4 * SIDE), torch.rand(1, COEFFS)

        def run() -> object:
            with torch.inference_mode():
                return net(lr, priors, coeffs)

    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def gain(report: Path) -> tuple[float, float]:
    """(PSNR gain over bicubic, SSIM) of `ours` in an evaluate report."""
    data = json.loads((report / "report.json").read_text())
    means = {m["method"]: m for m in data["means"]}
    return means["ours"]["psnr"] - means["bicubic"]["psnr"], means["ours"]["ssim"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="append", required=True, help="VARIANT=REPORT_DIR")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("size_curve.png"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    bicubic = forward_ms(None, args.repeats)
    for item in args.report:
        variant, folder = item.split("=", 1)
        params = count_parameters(
            create_model(variant, scale=4, prior_mode="all", prior_channels=MAPS, coeff_dim=COEFFS)
        )
        db, ssim = gain(Path(folder))
        rows.append((variant, params, forward_ms(variant, args.repeats), db, ssim))
    print(f"x4, {SIDE} px crop, {args.threads} thread(s); bicubic {bicubic:.1f} ms")
    print(
        f"{'variant':>11} {'params':>9} {'ms/face':>8} {'x bicubic':>9} {'gain dB':>8} {'SSIM':>7}"
    )
    for variant, params, ms, db, ssim in rows:
        print(f"{variant:>11} {params:>9,} {ms:8.1f} {ms / bicubic:9.1f} {db:+8.2f} {ssim:7.4f}")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([r[2] for r in rows], [r[3] for r in rows], "o-")
    for variant, _, ms, db, _ in rows:
        ax.annotate(variant, (ms, db), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel(f"CPU ms per face (x4, {SIDE} px crop, {args.threads} thread)")
    ax.set_ylabel("White House PSNR gain over bicubic (dB)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"curve: {args.out}")


if __name__ == "__main__":
    main()
