"""Forward time per face of the SAM variants on this CPU, against bicubic upscaling (baseline).

Run from the repository root: `python tests/benchmarks/bench_sr.py [--threads N] [--repeats R]`.
Cases: x4 32->128, x8 16->128 (the paper's crops) and x4 96->384 (a face in 720p made from 180p,
the `enhance` budget: >= 2 fps end to end leaves the network roughly 150-250 ms per face).
Priors use the priors-v1 layout sizes (13 maps, 186 coefficients) with prior mode "all".
Prints median milliseconds, parameter counts, and the ratio to bicubic measured in the same run;
`--channels-last` also times each network with channels-last tensors (what enhance uses on CPU)
and prints that ratio and the largest output difference.

Measured with `--threads 1 --repeats 5` on the shared 2-core CI box (load ~6), prior mode "all":
sam-light 238k params, 12 ms (x4 32->128), 11 ms (x8 16->128), 141 ms (x4 96->384, 55x bicubic);
sam-base 2.09M params, 72 / 51 / 963 ms. So sam-light is the default (fits the enhance budget) and
sam-base the larger option for GPUs. With 2 threads on a loaded box torch's OpenMP threads spin
and times get 5-10x worse: pass --threads 1 there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.sr.config import VARIANTS  # noqa: E402
from facesr_video.sr.network import count_parameters, create_model  # noqa: E402

MAPS, COEFFS = 13, 186
CASES = ((4, 32), (8, 16), (4, 96))


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--channels-last", action="store_true", help="also time channels-last")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
    print(f"{'variant':<18}{'mode':<8}{'case':<14}{'params':>10}{'ms/face':>10}{'x bicubic':>11}")
    for scale, n in CASES:
        lr = torch.rand(1, 3, n, n)
        priors = torch.rand(1, MAPS, n * scale, n * scale)
        coeffs = torch.randn(1, COEFFS)
        bicubic = median_ms(
            lambda lr=lr, s=scale: F.interpolate(lr, scale_factor=s, mode="bicubic"),
            args.repeats,
        )
        case = f"x{scale} {n}->{n * scale}"
        print(f"{'bicubic':<18}{'-':<8}{case:<14}{0:>10}{bicubic:>10.2f}{1.0:>11.1f}")
        for name in args.variants:
            for mode in ("none", "all"):
                model = create_model(name, scale=scale)
                cfg = model.config.with_priors(mode, MAPS, COEFFS)
                model = create_model(name, **{**cfg.__dict__}).eval()
                with torch.inference_mode():
                    ms = median_ms(
                        lambda m=model, p=priors, c=coeffs, x=lr: m(x, p, c), args.repeats
                    )
                params = count_parameters(model)
                line = f"{name:<18}{mode:<8}{case:<14}{params:>10}{ms:>10.2f}{ms / bicubic:>11.0f}"
                if args.channels_last:
                    line += channels_last_columns(model, lr, priors, coeffs, ms, args.repeats)
                print(line)


def channels_last_columns(
    model: torch.nn.Module,
    lr: torch.Tensor,
    priors: torch.Tensor,
    coeffs: torch.Tensor,
    plain_ms: float,
    repeats: int,
) -> str:
    """'  channels-last N ms (x R of contiguous), max diff D' for this network and input."""
    last = torch.channels_last
    with torch.inference_mode():
        reference = model(lr, priors, coeffs)
        model = model.to(memory_format=last)
        lr_l, priors_l = lr.contiguous(memory_format=last), priors.contiguous(memory_format=last)
        ms = median_ms(lambda: model(lr_l, priors_l, coeffs), repeats)
        diff = float((model(lr_l, priors_l, coeffs) - reference).abs().max())
    model.to(memory_format=torch.contiguous_format)
    return f"  channels-last {ms:8.2f} ms (x{ms / plain_ms:.2f}), max diff {diff:.1e}"


if __name__ == "__main__":
    main()
