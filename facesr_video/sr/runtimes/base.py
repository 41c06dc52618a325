"""What every runtime shares: the network's inputs as one record, the `Runtime` verbs, input
checks, batch buckets and a content digest of the weights.

A runtime runs one loaded SAMNet on fixed shapes. Spatial sizes are compiled as they come (the
aligned crops of `enhance` already come in the few sizes of `faces.align.CROP_SIZES`); the batch
is padded up to a bucket (1, 2, 4, 8 by default), which is exact because the network treats
every batch item on its own. Spatial padding is not offered: the network's zero-padded
convolutions and its channel attention (a mean over the whole crop) see the padding. Padding a
crop to the next size (x4 32 -> 48 px, x8 16 -> 24 px; zero, edge or mirror padding) left only
24-37 dB PSNR against the unpadded output on random inputs, far below any runtime's rounding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Protocol

import torch

from facesr_video.sr.config import SAMConfig

BATCH_BUCKETS: tuple[int, ...] = (1, 2, 4, 8)
INPUT_NAMES: tuple[str, ...] = ("lr", "priors", "coeffs", "warped", "confidence")


@dataclass(frozen=True)
class NetworkInputs:
    """One network call's inputs (float, same device), as `SAMNet.forward` takes them.

    lr: (B, 3, h, w) in [0, 1], h and w multiples of 8.
    priors: (B, Cp, S*h, S*w) prior maps at the HR crop size, or (B, Cp, h, w) at the LR crop
        size (read as their bilinear upscale, without making it), or None (prior mode "none").
    coeffs: (B, D) coefficient vector, or None (prior modes "none" and "render").
    warped: (B, N, 3, h, w) registered neighbours, or None (single-frame call).
    confidence: (B, N, 1, h, w) in [0, 1], given exactly when `warped` is.
    """

    lr: torch.Tensor
    priors: torch.Tensor | None = None
    coeffs: torch.Tensor | None = None
    warped: torch.Tensor | None = None
    confidence: torch.Tensor | None = None

    @property
    def signature(self) -> tuple[str, ...]:
        """Names of the inputs given, in `SAMNet.forward` order: what a traced graph takes."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)

    @property
    def priors_at_input_size(self) -> bool:
        """True when the prior maps come at the LR crop size (a graph of their own)."""
        return self.priors is not None and self.priors.shape[2:] == self.lr.shape[2:]

    @property
    def form(self) -> tuple[str, ...]:
        """`signature`, with "priors" named "priors@lr" when they come at the LR crop size: what
        one traced graph takes (the network's branch on the maps' size is fixed in a trace)."""
        at_lr = self.priors_at_input_size
        return tuple("priors@lr" if name == "priors" and at_lr else name for name in self.signature)

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The given inputs, in `signature` order."""
        return tuple(getattr(self, name) for name in self.signature)

    @property
    def batch(self) -> int:
        return int(self.lr.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) of the LR crop."""
        return int(self.lr.shape[2]), int(self.lr.shape[3])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> NetworkInputs:
        """The same record with `fn(tensor)` applied to every given input."""
        values = {name: fn(getattr(self, name)) for name in self.signature}
        return NetworkInputs(**values)


class Runtime(Protocol):
    """A loaded network behind one verb: `forward(inputs) -> (B, 3, S*h, S*w)` float32.

    `name` is the backend ("torch", "openvino"); `precision` the arithmetic it really uses
    ("fp32", "fp16", "bf16"), after any fallback; `layout` the memory format its image inputs
    are read in without a copy (callers that make them can make them so). The output is not
    clamped, as SAMNet's.
    """

    name: str
    precision: str
    layout: torch.memory_format

    def forward(self, inputs: NetworkInputs) -> torch.Tensor: ...


def check_inputs(config: SAMConfig, inputs: NetworkInputs) -> None:
    """Raise ValueError unless `inputs` are what a network with `config` takes, so a backend
    never compiles a graph for a wrong shape."""
    lr = inputs.lr
    if lr.ndim != 4 or lr.shape[1] != 3:
        raise ValueError(f"lr must be (B, 3, h, w), got {tuple(lr.shape)}")
    b, _, h, w = lr.shape
    if h % 8 or w % 8:
        raise ValueError(f"LR crop size must be a multiple of 8, got {h}x{w}")
    maps = (b, config.prior_channels, h * config.scale, w * config.scale)
    maps_at_input = (b, config.prior_channels, h, w)
    expected: dict[str, list[tuple[int, ...] | None]] = {
        "priors": [maps, maps_at_input] if config.uses_maps else [None],
        "coeffs": [(b, config.coeff_dim) if config.uses_coeffs else None],
    }
    for name, shapes in expected.items():
        tensor = getattr(inputs, name)
        got = None if tensor is None else tuple(tensor.shape)
        if got not in shapes:
            wanted = " or ".join(str(shape) for shape in shapes)
            raise ValueError(f"{name} must be {wanted}, got {got}")
    _check_neighbours(config, inputs)


def _check_neighbours(config: SAMConfig, inputs: NetworkInputs) -> None:
    warped, confidence = inputs.warped, inputs.confidence
    if warped is None and confidence is None:
        return
    if config.neighbours == 0:
        raise ValueError("neighbour inputs given to a single-frame network")
    b, _, h, w = inputs.lr.shape
    if warped is None or confidence is None:
        raise ValueError("warped and confidence come together")
    n = warped.shape[1] if warped.ndim == 5 else -1
    if tuple(warped.shape) != (b, n, 3, h, w) or tuple(confidence.shape) != (b, n, 1, h, w):
        raise ValueError(
            f"warped must be (B, N, 3, h, w) with confidence (B, N, 1, h, w), got "
            f"{tuple(warped.shape)} and {tuple(confidence.shape)}"
        )


def batch_chunks(batch: int, buckets: tuple[int, ...] = BATCH_BUCKETS) -> Iterator[tuple[int, int]]:
    """Split a batch into (start, bucket) runs: full runs of the largest bucket, then the rest
    padded up to the smallest bucket that holds it. The items a run covers are
    [start, min(start + bucket, batch))."""
    largest = max(buckets)
    start = 0
    while start < batch:
        left = batch - start
        bucket = largest if left >= largest else min(b for b in buckets if b >= left)
        yield start, bucket
        start += bucket


def pad_batch(tensor: torch.Tensor, size: int) -> torch.Tensor:
    """(b, ...) -> (size, ...) with zero items appended (size >= b)."""
    missing = size - tensor.shape[0]
    if missing <= 0:
        return tensor
    return torch.cat([tensor, tensor.new_zeros((missing, *tensor.shape[1:]))])


def weights_digest(network: torch.nn.Module, config: SAMConfig) -> str:
    """sha256 (hex) of the config and every tensor of the state dict (names, dtypes, shapes,
    bytes): the same weights give the same key, whether read from a file or trained in memory,
    so a graph derived from them is found again and never outlives them."""
    digest = hashlib.sha256(config.to_json().encode())
    for name, tensor in sorted(network.state_dict().items()):
        value = tensor.detach().to("cpu", torch.float32).contiguous()
        header = json.dumps([name, str(tensor.dtype), list(tensor.shape)])
        digest.update(header.encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()
