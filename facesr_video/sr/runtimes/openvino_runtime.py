"""The OpenVINO runtime: the torch network converted to an OpenVINO graph, compiled per shape.

The graph is derived from the loaded weights (themselves read from safetensors, the one source of
truth): `openvino.convert_model` traces the torch module once per input form
(`NetworkInputs.form`) with dynamic batch and crop sizes, and each shape met is compiled from a
reshaped copy (static shapes run fastest on every CPU runtime). Caches, all keyed by the
weights' content digest:

- converted graphs, in memory and (optionally) on disk as OpenVINO IR (.xml + .bin) under the
  user cache dir, so a new process skips the trace (seconds) and only compiles;
- compiled models per (graph, input shapes, precision, threads), in memory.

Precision: "fp32" (f32 inference; matches torch to ~1e-7) or "bf16" (bfloat16 arithmetic where
the CPU has it, through OpenVINO's INFERENCE_PRECISION_HINT; ~57 dB from torch, the size of
8-bit output rounding). "auto" is bf16 where supported. Where the CPU lacks bf16, f32 is used and
`precision` says so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from facesr_video.errors import DeviceError, ModelError
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes.base import (
    BATCH_BUCKETS,
    NetworkInputs,
    batch_chunks,
    check_inputs,
    pad_batch,
    weights_digest,
)

PRECISIONS = ("auto", "fp32", "bf16")
HINTS = {"fp32": "f32", "bf16": "bf16"}
COMPILED_KEPT = 32  # compiled models held in memory (least recently used dropped first)
EXAMPLE_SIZE = 16  # LR side of the example inputs the trace runs on (any multiple of 8)


@dataclass(frozen=True)
class _Compiled:
    """A compiled model with its one infer request, which `lock` lets one thread use at a time
    (the entry is shared by every runtime holding the same weights)."""

    model: Any
    request: Any
    lock: threading.Lock


_lock = threading.Lock()
_core: Any = None
_graphs: dict[tuple[str, tuple[str, ...]], Any] = {}
_compiled: OrderedDict[tuple[object, ...], _Compiled] = OrderedDict()


def openvino_available() -> bool:
    """True when the optional openvino package can be imported."""
    return importlib.util.find_spec("openvino") is not None


def _openvino() -> Any:
    if not openvino_available():
        raise DeviceError(
            "the openvino runtime needs the openvino package",
            "pip install 'facesr-video[openvino]', or use --runtime torch",
        )
    import openvino

    return openvino


def core() -> Any:
    """The process's one openvino.Core (made on first use)."""
    global _core
    with _lock:
        if _core is None:
            _core = _openvino().Core()
        return _core


def bf16_supported() -> bool:
    """True when OpenVINO's CPU plugin can run bfloat16 arithmetic on this CPU."""
    return "BF16" in core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def effective_precision(precision: str) -> str:
    """ "auto" | "fp32" | "bf16" -> what will run: "bf16" only where the CPU supports it."""
    if precision not in PRECISIONS:
        raise ValueError(f"the openvino runtime runs {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "fp32":
        return "fp32"
    return "bf16" if bf16_supported() else "fp32"


class _Signature(nn.Module):
    """The network with positional inputs named by `signature` (what a trace can take)."""

    def __init__(self, network: SAMNet, signature: tuple[str, ...]) -> None:
        super().__init__()
        self.network = network
        self.signature = signature

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        names = [name.split("@")[0] for name in self.signature]  # "priors@lr" -> priors
        return self.network(**dict(zip(names, tensors, strict=True)))


def dynamic_shapes(config: SAMConfig, signature: tuple[str, ...]) -> list[tuple[int, ...]]:
    """Per input of `signature`, its shape with batch, neighbour count and sizes left open
    (-1) and the channel counts fixed by `config`."""
    shapes = {
        "lr": (-1, 3, -1, -1),
        "priors": (-1, config.prior_channels, -1, -1),
        "priors@lr": (-1, config.prior_channels, -1, -1),
        "coeffs": (-1, config.coeff_dim),
        "warped": (-1, -1, 3, -1, -1),
        "confidence": (-1, -1, 1, -1, -1),
    }
    return [shapes[name] for name in signature]


def example_inputs(config: SAMConfig, signature: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """Random inputs of `signature` at batch 1 and a small crop, for the trace."""
    n, hr = EXAMPLE_SIZE, EXAMPLE_SIZE * config.scale
    neighbours = max(config.neighbours, 1)
    generator = torch.Generator().manual_seed(0)
    shapes = {
        "lr": (1, 3, n, n),
        "priors": (1, config.prior_channels, hr, hr),
        "priors@lr": (1, config.prior_channels, n, n),
        "coeffs": (1, config.coeff_dim),
        "warped": (1, neighbours, 3, n, n),
        "confidence": (1, neighbours, 1, n, n),
    }
    return tuple(torch.rand(shapes[name], generator=generator) for name in signature)


def convert(network: SAMNet, signature: tuple[str, ...]) -> Any:
    """Trace a CPU float32 copy of `network` into an openvino.Model with dynamic shapes."""
    ov = _openvino()
    module = _Signature(_cpu_copy(network), signature).eval()
    config = network.config
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # The network's shape checks are constants in a trace; that is what they should be.
            # torch calls the trace OpenVINO's converter uses deprecated: not for users to act on.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return ov.convert_model(
                module,
                example_input=example_inputs(config, signature),
                input=dynamic_shapes(config, signature),
            )
    except Exception as error:  # the converter raises its own types, none of them public
        raise ModelError(
            f"OpenVINO could not convert the network ({type(error).__name__}: {error})",
            hint="use --runtime torch",
        ) from error


def _cpu_copy(network: SAMNet) -> SAMNet:
    """The network rebuilt on the CPU in float32, in eval mode (the caller's is untouched)."""
    copy = SAMNet(network.config)
    state = {k: v.detach().to("cpu", torch.float32) for k, v in network.state_dict().items()}
    copy.load_state_dict(state)
    return copy.eval()


def default_cache_dir() -> Path:
    """Converted graphs on disk: `openvino/` in facesr-video's cache dir (FACESR_CACHE_DIR, else
    the user cache dir), beside the installed face model."""
    from facesr_video.morph.install import cache_dir

    return cache_dir() / "openvino"


def network_code_digest() -> str:
    """Digest of the source that defines the network's graph: a changed forward pass converts
    afresh even where the weights are the same."""
    from facesr_video.sr import bicubic, bilinear, network

    sources = [Path(module.__file__).read_bytes() for module in (network, bicubic, bilinear)]
    return hashlib.sha256(b"\0".join(sources)).hexdigest()


def graph_file(cache_dir: Path, digest: str, signature: tuple[str, ...]) -> Path:
    """Where the IR of these weights and inputs lives: the key also names the network's code and
    the OpenVINO version, so an upgrade of either converts afresh instead of reading a stale
    graph."""
    version = _openvino().get_version()
    parts = [digest, *signature, version, network_code_digest()]
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return Path(cache_dir) / f"sam-{key[:32]}.xml"


def load_graph(
    network: SAMNet, digest: str, signature: tuple[str, ...], cache_dir: Path | None
) -> Any:
    """The converted graph for these weights and inputs: from memory, else from `cache_dir`
    (None: no disk cache), else converted now (and written there)."""
    key = (digest, signature)
    with _lock:
        graph = _graphs.get(key)
    if graph is not None:
        return graph
    path = None if cache_dir is None else graph_file(cache_dir, digest, signature)
    graph = _read_graph(path, len(signature))
    if graph is None:
        graph = convert(network, signature)
        if path is not None:
            _write_graph(graph, path)
    with _lock:
        return _graphs.setdefault(key, graph)


def _read_graph(path: Path | None, inputs: int) -> Any:
    """The IR at `path`, or None when there is none or it cannot be read (then it is rebuilt)."""
    if path is None or not path.is_file() or not path.with_suffix(".bin").is_file():
        return None
    try:
        graph = core().read_model(str(path))
    except RuntimeError:
        return None
    return graph if len(graph.inputs) == inputs else None


def _write_graph(graph: Any, path: Path) -> None:
    """Save the IR whole: written under temporary names, the .bin moved into place before the
    .xml, so a reader never finds an .xml without its weights. A cache that cannot be written
    (read-only or full disk) only costs the next process a conversion."""
    ov = _openvino()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".partial-") as folder:
            partial = Path(folder) / path.name
            ov.save_model(graph, str(partial), compress_to_fp16=False)
            os.replace(partial.with_suffix(".bin"), path.with_suffix(".bin"))
            os.replace(partial, path)
    except (OSError, RuntimeError):
        return


class OpenVINORuntime:
    """`forward(inputs)` through OpenVINO on the CPU, compiled per batch bucket and crop size."""

    name = "openvino"
    layout = torch.contiguous_format  # numpy arrays in NCHW order

    def __init__(
        self,
        network: SAMNet,
        precision: str = "auto",
        threads: int = 0,
        cache_dir: Path | None = None,
        batch_buckets: tuple[int, ...] = BATCH_BUCKETS,
    ) -> None:
        """precision: "auto" (bf16 where the CPU has it), "fp32" or "bf16"; threads: OpenVINO's
        inference threads (0: its default, every core); cache_dir: where converted graphs are
        kept between processes (None: memory only); batch_buckets: batch sizes compiled."""
        if threads < 0 or not batch_buckets or min(batch_buckets) < 1:
            raise ValueError("threads must be >= 0 and batch buckets positive")
        self.config = network.config
        self.precision = effective_precision(precision)
        self.threads = threads
        self.cache_dir = cache_dir
        self.batch_buckets = tuple(sorted(set(batch_buckets)))
        # A snapshot: graphs converted later come from these weights even if the caller's
        # module changes meanwhile, so they always match `digest`.
        self._network = _cpu_copy(network)
        self.digest = weights_digest(self._network, self.config)

    def forward(self, inputs: NetworkInputs) -> torch.Tensor:
        """inputs (see NetworkInputs) -> (B, 3, S*h, S*w) float32 on the CPU, not clamped.

        The batch runs in bucket-sized runs (the last one padded with zero items, which are
        dropped from the output); each (bucket, crop size) is compiled on first use."""
        check_inputs(self.config, inputs)
        arrays = [_as_array(t) for t in inputs.tensors]
        outputs = []
        for start, bucket in batch_chunks(inputs.batch, self.batch_buckets):
            stop = min(start + bucket, inputs.batch)
            run = [pad_batch(a[start:stop], bucket) for a in arrays]
            outputs.append(self._infer(inputs.form, run)[: stop - start])
        return torch.cat(outputs) if len(outputs) > 1 else outputs[0]

    def compiled(
        self, signature: tuple[str, ...], shapes: tuple[tuple[int, ...], ...]
    ) -> _Compiled:
        """The compiled model for inputs of `signature` with these static shapes (cached)."""
        key = (self.digest, signature, shapes, self.precision, self.threads)
        with _lock:
            if key in _compiled:
                _compiled.move_to_end(key)
                return _compiled[key]
        graph = load_graph(self._network, self.digest, signature, self.cache_dir).clone()
        graph.reshape({index: list(shape) for index, shape in enumerate(shapes)})
        properties: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": HINTS[self.precision],
            "PERFORMANCE_HINT": "LATENCY",
        }
        if self.threads:
            properties["INFERENCE_NUM_THREADS"] = self.threads
        model = core().compile_model(graph, "CPU", properties)
        entry = _Compiled(model, model.create_infer_request(), threading.Lock())
        with _lock:
            _compiled[key] = entry
            while len(_compiled) > COMPILED_KEPT:
                _compiled.popitem(last=False)
        return entry

    def _infer(self, signature: tuple[str, ...], arrays: list[torch.Tensor]) -> torch.Tensor:
        shapes = tuple(tuple(int(d) for d in a.shape) for a in arrays)
        entry = self.compiled(signature, shapes)
        with entry.lock:
            result = entry.request.infer([a.numpy() for a in arrays], share_inputs=True)
            out = np.array(result[0], dtype=np.float32, copy=True)
        return torch.from_numpy(out)


def _as_array(tensor: torch.Tensor) -> torch.Tensor:
    """A CPU float32 contiguous tensor (what OpenVINO reads without conversion)."""
    return tensor.detach().to("cpu", torch.float32).contiguous()
