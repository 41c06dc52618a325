"""Runtimes for the SR network: the same loaded SAMNet run by torch or by OpenVINO.

A few verbs:

- `resolve_runtime(name, device)`: "auto" | "torch" | "openvino" -> the backend that will run;
  "auto" is OpenVINO on the CPU when it is importable, torch otherwise (always torch on CUDA);
- `create_runtime(name, network, device, ...)` -> a `Runtime`;
- `runtime.forward(NetworkInputs(lr, priors, coeffs, ...))` -> (B, 3, S*h, S*w) float32.

The network is defined once in torch and its weights (safetensors) stay the one source of truth:
the OpenVINO graph is converted from the loaded module, never shipped. Outputs are checked against
torch in tests/sr/test_runtimes.py; speeds in tests/benchmarks/bench_runtimes.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from facesr_video.errors import DeviceError
from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes.base import BATCH_BUCKETS, NetworkInputs, Runtime
from facesr_video.sr.runtimes.openvino_runtime import (
    OpenVINORuntime,
    default_cache_dir,
    openvino_available,
)
from facesr_video.sr.runtimes.torch_runtime import TorchRuntime

RuntimeName = Literal["auto", "torch", "openvino"]
RUNTIMES: tuple[str, ...] = ("auto", "torch", "openvino")
USER_CACHE = "user"  # cache_dir value: the user cache dir (default_cache_dir())


def resolve_runtime(name: str, device: torch.device | str) -> str:
    """The backend that runs the network on `device`: "torch" or "openvino".

    Raises DeviceError when "openvino" is asked for on CUDA or without the package, and
    ValueError for a name not in RUNTIMES.
    """
    device = torch.device(device)
    if name == "torch":
        return "torch"
    if name == "openvino":
        if device.type != "cpu":
            raise DeviceError(
                f"the openvino runtime runs on the CPU, not {device}",
                "use --runtime torch or auto with a GPU, or --device cpu",
            )
        if not openvino_available():
            raise DeviceError(
                "the openvino runtime needs the openvino package",
                "pip install 'facesr-video[openvino]', or use --runtime torch",
            )
        return "openvino"
    if name == "auto":
        return "openvino" if device.type == "cpu" and openvino_available() else "torch"
    raise ValueError(f"unknown runtime {name!r}; expected one of {', '.join(RUNTIMES)}")


def create_runtime(
    name: str,
    network: SAMNet,
    device: torch.device | str,
    precision: str = "auto",
    threads: int = 0,
    cache_dir: Path | str | None = USER_CACHE,
    batch_buckets: tuple[int, ...] = BATCH_BUCKETS,
) -> Runtime:
    """A runtime for `network` on `device` (the caller's module is not changed).

    Args:
        name: "auto", "torch" or "openvino" (see `resolve_runtime`).
        network: a loaded SAMNet (any device or dtype; its weights are copied).
        device: where inputs and outputs live; OpenVINO runs on the CPU only.
        precision: "auto" (torch: fp16 on CUDA, else fp32; OpenVINO: bf16 where the CPU has
            it, else fp32), "fp32", "fp16" (torch on CUDA) or "bf16" (OpenVINO).
        threads: OpenVINO inference threads (0: its default); torch keeps its global setting.
        cache_dir: converted OpenVINO graphs kept between processes: "user" for the user cache
            dir, a folder, or None for memory only.
        batch_buckets: batch sizes OpenVINO compiles; a batch is padded up to one of them.
    """
    chosen = resolve_runtime(name, device)
    if chosen == "torch":
        return TorchRuntime(network, torch.device(device), precision)
    folder = default_cache_dir() if cache_dir == USER_CACHE else cache_dir
    return OpenVINORuntime(
        network,
        precision=precision,
        threads=threads,
        cache_dir=None if folder is None else Path(folder),
        batch_buckets=batch_buckets,
    )


__all__ = [
    "BATCH_BUCKETS",
    "RUNTIMES",
    "NetworkInputs",
    "OpenVINORuntime",
    "Runtime",
    "RuntimeName",
    "TorchRuntime",
    "create_runtime",
    "openvino_available",
    "resolve_runtime",
]
