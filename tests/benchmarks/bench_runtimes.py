"""Milliseconds per face of the SR network in each runtime, side by side, on this CPU.

Run from the repository root:
`python tests/benchmarks/bench_runtimes.py [--threads N] [--repeats R] [--scales 4 8]`.

Runtimes: torch eager (contiguous tensors), torch channels-last (what enhance runs on the CPU: the
baseline every ratio is against), OpenVINO fp32 and bf16 (facesr_video/sr/runtimes), and ONNX
Runtime fp32 when onnxruntime and onnx are installed (exported per shape with torch.onnx). The
shipped weights at x4 (LR crops 32 and 48 px) and x8 (16 and 24 px), batch 1 and 4, on random
inputs of the shapes enhance gives (priors-v1: 13 maps at the crop size, 186 coefficients). Each
round times every runtime once, in turn, so load from other processes falls on all of them alike;
the median of the rounds is printed, divided by the batch. PSNR (dB, peak 1) is each runtime's raw
output against torch eager's on the same inputs ("inf": identical). "setup s" is the first call:
the OpenVINO conversion (once per weights, unless the graph is in the disk cache; this benchmark
keeps none) and compilation for that shape, or the ONNX export and session.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.sr.network import SAMNet  # noqa: E402
from facesr_video.sr.runtimes import NetworkInputs, create_runtime, openvino_available  # noqa: E402
from facesr_video.sr.runtimes.torch_runtime import TorchRuntime  # noqa: E402
from facesr_video.sr.weights import load_model  # noqa: E402

WEIGHTS = REPO / "facesr_video" / "weights"
CROPS = {2: (32, 48), 4: (32, 48), 8: (16, 24)}  # LR crop sides enhance meets at each scale

Forward = Callable[[NetworkInputs], torch.Tensor]


@dataclass
class Row:
    runtime: str
    forward: Forward
    setup_s: float
    times_ms: list[float]
    psnr_db: float


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR (dB, peak 1) of a against b, both (B, 3, H, W); inf when identical."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def random_inputs(network: SAMNet, batch: int, n: int) -> NetworkInputs:
    """Inputs of the shapes enhance gives: LR (B, 3, n, n), priors rendered at the crop size
    (B, Cp, n, n; the network reads them as their upscale), coeffs (B, D)."""
    config = network.config
    generator = torch.Generator().manual_seed(batch * 1000 + n)
    return NetworkInputs(
        lr=torch.rand(batch, 3, n, n, generator=generator),
        priors=torch.rand(batch, config.prior_channels, n, n, generator=generator)
        if config.uses_maps
        else None,
        coeffs=torch.randn(batch, config.coeff_dim, generator=generator)
        if config.uses_coeffs
        else None,
    )


def onnxruntime_forward(network: SAMNet, inputs: NetworkInputs, threads: int) -> Forward | None:
    """An ONNX Runtime fp32 session for these static shapes, or None without onnxruntime/onnx."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime as ort
    except ImportError:
        return None
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            inputs.tensors,
            buffer,
            input_names=list(inputs.signature),
            opset_version=17,
            dynamo=False,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def forward(x: NetworkInputs) -> torch.Tensor:
        feeds = {name: t.numpy() for name, t in zip(x.signature, x.tensors, strict=True)}
        return torch.from_numpy(session.run(None, feeds)[0])

    return forward


def candidates(
    network: SAMNet, inputs: NetworkInputs, threads: int
) -> list[tuple[str, Callable[[], Forward | None]]]:
    """(name, make) for every runtime: `make()` builds it (None: not installed here). The first
    is the reference for PSNR, the second the baseline for ratios."""
    cpu = torch.device("cpu")

    def torch_runtime(channels_last: bool) -> Callable[[], Forward]:
        return lambda: TorchRuntime(network, cpu, "fp32", channels_last=channels_last).forward

    def openvino_runtime(precision: str) -> Callable[[], Forward | None]:
        def make() -> Forward | None:
            if not openvino_available():
                return None
            runtime = create_runtime("openvino", network, cpu, precision, threads, cache_dir=None)
            return runtime.forward

        return make

    return [
        ("torch eager", torch_runtime(False)),
        ("torch channels-last", torch_runtime(True)),
        ("openvino fp32", openvino_runtime("fp32")),
        ("openvino bf16", openvino_runtime("bf16")),
        ("onnxruntime fp32", lambda: onnxruntime_forward(network, inputs, threads)),
    ]


def measure(network: SAMNet, inputs: NetworkInputs, threads: int, repeats: int) -> list[Row]:
    """Time each runtime `repeats` times on `inputs`, interleaved round by round."""
    rows: list[Row] = []
    reference: torch.Tensor | None = None
    for name, make in candidates(network, inputs, threads):
        started = time.perf_counter()
        forward = make()
        if forward is None:
            continue
        out = forward(inputs)
        setup = time.perf_counter() - started
        reference = out if reference is None else reference
        rows.append(Row(name, forward, setup, [], psnr(out, reference)))
    for _ in range(repeats):
        for row in rows:
            started = time.perf_counter()
            row.forward(inputs)
            row.times_ms.append((time.perf_counter() - started) * 1000.0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenVINO/ORT threads")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--scales", type=int, nargs="*", default=[4, 8])
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 4])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} rounds")
    header = f"{'case':<22}{'runtime':<22}{'ms/face':>9}{'x ch-last':>11}{'PSNR dB':>9}"
    print(header + f"{'setup s':>9}")
    for scale in args.scales:
        network, _ = load_model(WEIGHTS / f"sam-light-x{scale}.safetensors")
        for n in CROPS[scale]:
            for batch in args.batches:
                case = f"x{scale} {n}->{n * scale} b{batch}"
                inputs = random_inputs(network, batch, n)
                rows = measure(network, inputs, args.threads, args.repeats)
                per_face = {r.runtime: statistics.median(r.times_ms) / batch for r in rows}
                baseline = per_face["torch channels-last"]
                for row in rows:
                    ms = per_face[row.runtime]
                    print(
                        f"{case:<22}{row.runtime:<22}{ms:>9.2f}{ms / baseline:>11.2f}"
                        f"{row.psnr_db:>9.1f}{row.setup_s:>9.2f}"
                    )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
