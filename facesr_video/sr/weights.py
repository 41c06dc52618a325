"""Network weights as safetensors, with everything needed to rebuild and check them in metadata.

Metadata keys (all strings, as safetensors requires): ``format`` ("facesr-sam"),
``format_version``, ``config`` (SAMConfig JSON), ``prior_layout`` (JSON: version + channel
names; version "none" for prior_mode "none"), ``recipe`` (JSON: how it was trained). So
`load_model(path)` needs no flags, and a mismatch with the priors the caller renders is caught
before it produces garbage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from facesr_video.errors import ModelError
from facesr_video.files import write_whole
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.network import SAMNet

FORMAT = "facesr-sam"
FORMAT_VERSION = "1"
NO_PRIORS = "none"


@dataclass(frozen=True)
class WeightsInfo:
    """What a weights file says about itself."""

    config: SAMConfig
    layout_version: str
    layout_channels: tuple[str, ...]
    recipe: dict[str, Any] = field(default_factory=dict)


def save_model(
    model: SAMNet,
    path: Path,
    layout_version: str,
    layout_channels: tuple[str, ...] = (),
    recipe: dict[str, Any] | None = None,
) -> Path:
    """Write model weights + metadata atomically (temporary file, then rename)."""
    path = Path(path)
    if model.config.prior_mode == "none":
        layout_version, layout_channels = NO_PRIORS, ()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_json(),
        "prior_layout": json.dumps({"version": layout_version, "channels": list(layout_channels)}),
        "recipe": json.dumps(recipe or {}, sort_keys=True, default=str),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, lambda partial: save_file(tensors, str(partial), metadata=metadata))
    return path


def read_info(path: Path) -> WeightsInfo:
    """Read only the metadata of a weights file (cheap: no tensors are loaded)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights not found: {path}", hint="check the path or run `models list`")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(
            f"weights file is corrupt or not safetensors: {path} ({error})",
            hint="reinstall or re-export the weights",
        ) from error
    if meta.get("format") != FORMAT:
        raise ModelError(
            f"{path} is not facesr-video SAM weights (format {meta.get('format')!r})",
            hint="pass weights exported by `facesr-video train`",
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path} has weights format version {meta.get('format_version')}, "
            f"this facesr-video reads {FORMAT_VERSION}",
            hint="use the facesr-video version that trained them or retrain",
        )
    try:
        config = SAMConfig.from_json(meta["config"])
        layout = json.loads(meta["prior_layout"])
        recipe = json.loads(meta.get("recipe", "{}"))
    except (KeyError, ValueError, TypeError) as error:
        raise ModelError(f"weights metadata is corrupt in {path}: {error}") from error
    return WeightsInfo(config, str(layout["version"]), tuple(layout["channels"]), recipe)


def load_model(
    path: Path,
    expected_layout_version: str | None = None,
    scale: int | None = None,
    device: str | torch.device = "cpu",
) -> tuple[SAMNet, WeightsInfo]:
    """Rebuild a SAMNet from its file, in eval mode; check scale and prior layout if given."""
    path = Path(path)
    info = read_info(path)
    if scale is not None and info.config.scale != scale:
        raise ModelError(
            f"{path.name} is a x{info.config.scale} model but x{scale} was asked for",
            hint=f"use --scale {info.config.scale} or weights trained for x{scale}",
        )
    if (
        expected_layout_version is not None
        and info.config.prior_mode != "none"
        and info.layout_version != expected_layout_version
    ):
        raise ModelError(
            f"{path.name} was trained on prior layout {info.layout_version!r} but this "
            f"facesr-video renders {expected_layout_version!r}",
            hint="retrain on a store made by this version (extract-priors, then train), "
            "or install matching weights",
        )
    model = SAMNet(info.config)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        model.load_state_dict(state, strict=True)
    except (SafetensorError, OSError, RuntimeError) as error:
        raise ModelError(
            f"weights in {path} do not match their config: {error}",
            hint="the file is damaged; reinstall or re-export it",
        ) from error
    return model.to(device).eval(), info
