"""The methods `evaluate` runs on each clip: bicubic, ours, and the comparisons asked for.

Each method is a name and a factory of fresh frame stages (one per clip, so no state leaks from
clip to clip). The prior controls run the same network with other priors: the model's mean face
in each face's fitted pose (`ours-generic-priors`: does the network use *this* face?) and zeros
(`ours-zero-priors`: what do the priors add at all?).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from facesr_video.device import resolve_device
from facesr_video.enhance.background import upscale_frames
from facesr_video.enhance.face_stage import FaceOptions, FaceStage
from facesr_video.enhance.prepare import (
    check_model_matches_weights,
    resolve_face_model,
    resolve_network,
    set_torch_threads,
)
from facesr_video.enhance.run import FrameStage
from facesr_video.eval.reference import REGION_MARGIN
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    METHOD_GENERIC_PRIORS,
    METHOD_NO_PRIORS,
    METHOD_NO_SMOOTHING,
    METHOD_ONE_FRAME,
    METHOD_OURS,
    METHOD_SINGLE_FRAME,
    METHOD_ZERO_PRIORS,
)
from facesr_video.morph.install import resolve_face_model_path
from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes import create_runtime
from facesr_video.video.quality import InputQuality, resolve_input_quality

if TYPE_CHECKING:
    from facesr_video.eval.evaluate import EvaluateOptions


@dataclass(frozen=True)
class MethodSpec:
    """A method evaluated: its name and how to make a fresh frame stage for one clip."""

    name: str
    build: Callable[[], FrameStage]


def evaluated_input_quality(options: EvaluateOptions) -> InputQuality:
    """The quality enhance's `--input-quality auto` gives the degraded clip: the clean
    degradation reaches the network losslessly; the h264 one is a CRF 23 stream, which spends
    well under COMPRESSED_BELOW_BPP bits per pixel (tests/eval check it on a real clip)."""
    if options.input_quality != "auto":
        return resolve_input_quality(options.input_quality, None)
    return "compressed" if options.degradation == "h264" else "clean"


def runtime_text(network: SAMNet, device: torch.device, face: FaceOptions) -> str:
    """The runtime the face stages will run the network with, and its precision after any
    fallback ("openvino bf16"): a runtime made as FaceStage makes it, without running it."""
    runtime = create_runtime(
        face.runtime, network, device, precision="auto" if face.half else "fp32", cache_dir=None
    )
    return f"{runtime.name} {runtime.precision}"


def build_methods(
    options: EvaluateOptions,
) -> tuple[tuple[MethodSpec, ...], dict[str, str], str]:
    """The methods to run (bicubic first), the settings to print in the report, the device."""
    device = resolve_device(options.device)
    model = resolve_face_model(options.face_model)
    set_torch_threads(0, device)
    quality = evaluated_input_quality(options)
    network, info = resolve_network(options.weights, options.scale, device, quality)
    check_model_matches_weights(model, info)
    face = FaceOptions(
        weights=options.weights,
        input_quality=quality,
        face_model=options.face_model,
        device=options.device,
        min_face=options.min_face,
        smooth_lag=options.smooth_lag,
        paste=options.paste,
        frames=options.frames,
        registration=options.registration,
        stabilise=options.stabilise,
        runtime=options.runtime,
    )
    scale = options.scale

    def bicubic() -> FrameStage:
        return lambda frames: upscale_frames(frames, scale, "bicubic")

    def face_stage(net, net_info, face_options: FaceOptions) -> Callable[[], FrameStage]:
        return lambda: FaceStage(model, net, net_info, scale, face_options, device)

    methods = [
        MethodSpec(METHOD_BICUBIC, bicubic),
        MethodSpec(METHOD_OURS, face_stage(network, info, face)),
    ]
    settings = {
        "weights": str(options.weights or f"shipped, for {quality} input"),
        "network": f"x{info.config.scale}, prior_mode={info.config.prior_mode}",
        "face model": str(resolve_face_model_path(options.face_model)),
        "face region": (
            f"dlib HOG box on the original (faces >= {options.min_face * scale:g} px), grown "
            f"{REGION_MARGIN:.0%} per side"
        ),
        "min face (low-res px)": f"{options.min_face:g}",
        "smoother lag (frames)": str(options.smooth_lag),
        "detail stabilised (weight)": f"{options.stabilise:g}",
        "network runtime": runtime_text(network, device, face),
    }
    if options.weights_no_priors is not None:
        plain_net, plain_info = resolve_network(options.weights_no_priors, scale, device)
        check_model_matches_weights(model, plain_info)
        plain = replace(face, weights=options.weights_no_priors)
        methods.append(MethodSpec(METHOD_NO_PRIORS, face_stage(plain_net, plain_info, plain)))
        settings["weights (no priors)"] = str(options.weights_no_priors)
    window = options.frames or info.config.frames
    settings["frames (window)"] = f"{window}, registration {options.registration}"
    if window > 1 and options.one_frame_too:
        alone = replace(face, frames=1)
        methods.append(MethodSpec(METHOD_ONE_FRAME, face_stage(network, info, alone)))
    if options.weights_single_frame is not None:
        single_net, single_info = resolve_network(options.weights_single_frame, scale, device)
        check_model_matches_weights(model, single_info)
        single = replace(face, weights=options.weights_single_frame, frames=1)
        methods.append(MethodSpec(METHOD_SINGLE_FRAME, face_stage(single_net, single_info, single)))
        settings["weights (single frame)"] = str(options.weights_single_frame)
    if options.no_smoothing_too:
        raw = replace(face, smoothing=False)
        methods.append(MethodSpec(METHOD_NO_SMOOTHING, face_stage(network, info, raw)))
    if options.prior_controls and info.config.prior_mode != "none":
        for name, source in ((METHOD_GENERIC_PRIORS, "generic"), (METHOD_ZERO_PRIORS, "zero")):
            control = replace(face, priors=source)
            methods.append(MethodSpec(name, face_stage(network, info, control)))
    if options.max_frames is not None:
        settings["max frames per clip"] = str(options.max_frames)
    if options.jobs > 1:  # speeds (fps) are measured with the processes sharing the machine
        settings["processes"] = str(options.jobs)
    return tuple(methods), settings, str(device)
