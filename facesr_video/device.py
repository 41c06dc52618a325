"""The one reading of `--device` for every command: 'auto' | 'cpu' | 'cuda' | 'cuda:N'.

enhance, evaluate, extract-priors and train all resolve their option here, so a name one command
accepts is accepted by all, and a bad one (`tpu`, `cuda:9` on a one-GPU machine, `mps`) is the
same one-line DeviceError everywhere instead of a torch traceback.
"""

from __future__ import annotations

import torch

from facesr_video.errors import DeviceError

CHOICES = "auto, cpu, cuda or cuda:N"


def resolve_device(name: str) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> a usable torch.device, or DeviceError.

    'auto' is the first CUDA device when there is one, else the CPU. 'cuda' keeps no index
    (torch's current device), so `str()` of the result round-trips to what was asked.
    """
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError) as error:
        raise DeviceError(f"unknown --device {name!r}", f"use {CHOICES}") from error
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise DeviceError(f"unsupported --device {name!r}", f"use {CHOICES}")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {name} asked for, but no CUDA device is available",
            "use --device cpu (or auto), or install a CUDA build of torch",
        )
    count = torch.cuda.device_count()
    if (device.index or 0) >= count:
        raise DeviceError(
            f"--device {name}: only {count} CUDA device(s) present",
            f"pick an index below {count}",
        )
    return device
