"""Resolving what the face path needs: face model and network weights (device: device.py).

Each resolver turns a user's option into a ready object or one clear error saying what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.install import resolve_face_model_path
from facesr_video.render.layout import LAYOUT_VERSION, prior_layout
from facesr_video.sr.network import SAMNet
from facesr_video.sr.weights import WeightsInfo, load_model
from facesr_video.video.quality import InputQuality

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
FACE_SCALES = (2, 4, 8)
NETWORK_SCALES = {2: (2, 4), 4: (4,), 8: (8,)}
"""Network scales that serve each output scale: x2 runs an x2 network, or an x4 one whose output
is resampled by 1/2 with an antialiased bicubic (when no x2 weights are installed)."""


def _shipped_file(scale: int, quality: InputQuality = "clean") -> Path:
    suffix = "-compressed" if quality == "compressed" else ""
    return WEIGHTS_DIR / f"sam-light-x{scale}{suffix}.safetensors"


def shipped_weights(scale: int, quality: InputQuality = "clean") -> Path:
    """The default weights for a scale and an input quality, shipped in facesr_video/weights/.

    Compressed input gets the network trained on coded video where one ships for the scale;
    otherwise, and for clean input, the first network scale of NETWORK_SCALES whose file is
    there (x2 falls back to the x4 weights).
    """
    if quality == "compressed" and _shipped_file(scale, quality).is_file():
        return _shipped_file(scale, quality)
    candidates = [_shipped_file(s) for s in NETWORK_SCALES.get(scale, (scale,))]
    return next((c for c in candidates if c.is_file()), candidates[-1])


def shipped_role(path: Path) -> str | None:
    """What `enhance` uses a shipped weights file for ("x4 default", "x4, compressed input"),
    from its name; None for a file under any other name."""
    for scale in FACE_SCALES:
        if Path(path).name == _shipped_file(scale).name:
            return f"x{scale} default"
        if Path(path).name == _shipped_file(scale, "compressed").name:
            return f"x{scale}, compressed input"
    return None


def installed_weights() -> list[Path]:
    """Every weights file in facesr_video/weights/ (what `models list` and `models check` see)."""
    return sorted(WEIGHTS_DIR.glob("*.safetensors")) if WEIGHTS_DIR.is_dir() else []


def check_weights(path: Path) -> WeightsInfo:
    """Validate a weights file exactly as enhance reads it, or raise ModelError saying why.

    Metadata (format, config, layout), every tensor against the config, the prior layout this
    version renders, and for a shipped file the scale its name promises.
    """
    shipped = {_shipped_file(s, q): s for s in FACE_SCALES for q in ("clean", "compressed")}
    scale = shipped.get(Path(path))
    _, info = load_model(path, expected_layout_version=LAYOUT_VERSION, scale=scale)
    return info


def resolve_network(
    weights: Path | None, scale: int, device: torch.device, quality: InputQuality = "clean"
) -> tuple[SAMNet, WeightsInfo]:
    """Load --weights (or the shipped default for the scale and the input's quality) for this
    prior layout."""
    if scale not in FACE_SCALES:
        raise ModelError(
            f"the face network works at x2, x4 and x8, not x{scale}",
            "use --scale 2, 4 or 8, or --faces none for a plain upscale",
        )
    path = Path(weights) if weights is not None else shipped_weights(scale, quality)
    if path.is_dir():
        raise ModelError(
            f"--weights is a folder: {path}",
            "give the .safetensors file in it, e.g. RUN/model.safetensors from `train`",
        )
    if not path.is_file():
        hint = (
            "check the --weights path"
            if weights is not None
            else "reinstall facesr-video, or train weights with `facesr-video train` and pass "
            "--weights"
        )
        raise ModelError(f"network weights not found: {path}", hint)
    network, info = load_model(path, expected_layout_version=LAYOUT_VERSION, device=device)
    if info.config.scale not in NETWORK_SCALES[scale]:
        raise ModelError(
            f"{path.name} is a x{info.config.scale} model but x{scale} was asked for",
            hint=f"use --scale {info.config.scale} or weights trained for x{scale}",
        )
    return network, info


def resolve_face_model(path: Path | None) -> FaceModel:
    """The 3D face model from --face-model, $FACESR_FACE_MODEL or the installed one."""
    return load_face_model(resolve_face_model_path(path))


def check_model_matches_weights(model: FaceModel, info: WeightsInfo) -> None:
    """A network fed with coefficients needs a face model of the same coefficient size."""
    config = info.config
    if not config.uses_coeffs:
        return
    layout = prior_layout(model)
    if layout.num_coefficients != config.coeff_dim:
        raise ModelError(
            f"the face model gives {layout.num_coefficients} coefficients but the weights were "
            f"trained with {config.coeff_dim}",
            "use the face model the weights were trained with (ICT-FaceKit Light by default), "
            "or weights trained on this model",
        )


def set_torch_threads(threads: int, device: torch.device) -> None:
    """The process-wide torch thread count, set once by the command that owns the process.

    threads > 0 is taken as given; 0 on CPU leaves one core to the face-analysis thread (the
    face path runs analysis and SR side by side, see FaceStage.__call__).
    """
    if threads > 0:
        torch.set_num_threads(threads)
    elif device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
