"""The torch runtime: the network in eager mode, as trained.

On CPU the network and its image inputs are channels-last (oneDNN's convolutions take 0.75-0.9x
the time that way, same results to 1e-6); on CUDA it runs in float16 unless asked for fp32. The
runtime holds its own copy of the network, so the caller's module keeps its device and dtype.
"""

from __future__ import annotations

import copy

import torch

from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes.base import NetworkInputs, check_inputs

# Inputs that are images (B, C, H, W): the ones a channels-last layout applies to.
IMAGE_INPUTS = ("lr", "priors")


class TorchRuntime:
    """`forward(inputs)` through a private copy of the network on `device`."""

    name = "torch"

    def __init__(
        self,
        network: SAMNet,
        device: torch.device,
        precision: str = "auto",
        channels_last: bool | None = None,
    ) -> None:
        """precision: "auto" (fp16 on CUDA, fp32 on CPU), "fp32" or "fp16" (CUDA only).
        channels_last: None for the faster layout of the device (channels-last on CPU)."""
        self.device = torch.device(device)
        self.precision = _torch_precision(precision, self.device)
        self.dtype = torch.float16 if self.precision == "fp16" else torch.float32
        if channels_last is None:
            channels_last = self.device.type == "cpu"
        self.layout = torch.channels_last if channels_last else torch.contiguous_format
        self.config = network.config
        module = copy.deepcopy(network).to(device=self.device, dtype=self.dtype).eval()
        self.network = module.to(memory_format=self.layout)

    def forward(self, inputs: NetworkInputs) -> torch.Tensor:
        """inputs (see NetworkInputs) -> (B, 3, S*h, S*w) float32 on `device`, not clamped."""
        check_inputs(self.config, inputs)
        values = {
            name: self._prepare(name, tensor)
            for name, tensor in zip(inputs.signature, inputs.tensors, strict=True)
        }
        with torch.inference_mode():
            out = self.network(**values)
        return out.float().contiguous()

    def _prepare(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.to(device=self.device, dtype=self.dtype)
        if name in IMAGE_INPUTS:
            return tensor.contiguous(memory_format=self.layout)
        return tensor


def _torch_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp32" or (precision == "fp16" and device.type == "cuda"):
        return precision
    raise ValueError(
        f"the torch runtime runs fp32 (or fp16 on CUDA), not {precision!r} on {device.type}"
    )
