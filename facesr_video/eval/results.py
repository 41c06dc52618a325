"""Typed records of an evaluation: scores per clip and method, frames to show, report metadata.

`evaluate` fills these; `report.write_report` turns them into report.json, report.md and
pictures. They are independent of the pipeline, so a report can be written (and tested) from any
source of scores. Also here: the JSON codec, so report.json reads back into the same records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from facesr_video.dataset.degrade.bicubic import DEGRADATION

METHOD_OURS = "ours"
METHOD_BICUBIC = "bicubic"
METHOD_NO_PRIORS = "ours-no-priors"
METHOD_NO_SMOOTHING = "ours-no-smoothing"
METHOD_ONE_FRAME = "ours-1-frame"  # a multi-frame network given no neighbours
METHOD_SINGLE_FRAME = "ours-single-frame"  # other weights, trained single-frame
METHOD_GENERIC_PRIORS = "ours-generic-priors"  # the mean face's priors in the fitted pose
METHOD_ZERO_PRIORS = "ours-zero-priors"  # the same network given zero priors

Box = tuple[float, float, float, float]  # (left, top, right, bottom) pixels

REPORT_FORMAT = "facesr-video-report"
REPORT_VERSION = 1


@dataclass(frozen=True)
class MethodScores:
    """One method's figures on one clip (face regions only), or a mean over clips.

    Per-frame series hold NaN where a frame has no scored face.
    """

    method: str
    psnr: float  # dB, mean over scored frames
    ssim: float  # mean SSIM (luma)
    identity: float  # cosine of dlib descriptors, output vs original
    landmark_error: float  # landmarks on the output vs on the original, / inter-ocular
    flicker: float  # temporal flicker in [0, 1] intensity units
    jitter: float  # landmark jitter on the output, pixels / frame^2
    fps: float  # frames per second of the whole method on this clip
    psnr_per_frame: tuple[float, ...] = ()  # (T,)
    flicker_per_frame: tuple[float, ...] = ()  # (T - 1,): transition t-1 -> t


SCORE_FIELDS = ("psnr", "ssim", "identity", "landmark_error", "flicker", "jitter", "fps")


@dataclass(frozen=True)
class SampleFrame:
    """One frame shown in the pictures, as 8-bit images (an output edge, like video/).

    lr is (h, w, 3) uint8; original and every output are (h * S, w * S, 3) uint8.
    """

    index: int
    lr: np.ndarray
    original: np.ndarray
    outputs: tuple[tuple[str, np.ndarray], ...]  # (method, image), in display order
    face_box: Box | None = None  # one face in original-frame pixels, for the zoom


@dataclass(frozen=True)
class ClipResult:
    """Everything measured on one clip; samples are only used for pictures (not in JSON)."""

    name: str
    source: str
    scale: int
    frames: int
    faces: int  # face instances scored over all frames
    width: int  # high-resolution frame size after cropping to a multiple of the scale
    height: int
    methods: tuple[MethodScores, ...]
    samples: tuple[SampleFrame, ...] = field(default=(), compare=False, repr=False)

    def method(self, name: str) -> MethodScores | None:
        """The scores of one method, or None if it was not run on this clip."""
        return next((scores for scores in self.methods if scores.method == name), None)


@dataclass(frozen=True)
class ReportMeta:
    """How the figures were made, written at the top of both report files."""

    scale: int
    degradation: str = DEGRADATION
    command: str = ""
    version: str = ""
    device: str = ""
    created: str = ""  # ISO 8601 time
    settings: tuple[tuple[str, str], ...] = ()  # (name, value): weights, face model, lag...


def _finite_mean(values: list[float]) -> float:
    kept = [value for value in values if not math.isnan(value)]
    return float(np.mean(kept)) if kept else math.nan


def method_means(results: tuple[ClipResult, ...] | list[ClipResult]) -> tuple[MethodScores, ...]:
    """Mean of every score per method over the clips that ran it (NaN entries skipped).

    Methods keep the order in which they first appear; the means have no per-frame series.
    """
    order: list[str] = []
    for clip in results:
        order.extend(s.method for s in clip.methods if s.method not in order)
    means = []
    for name in order:
        runs = [s for clip in results if (s := clip.method(name)) is not None]
        values = {key: _finite_mean([getattr(s, key) for s in runs]) for key in SCORE_FIELDS}
        means.append(MethodScores(method=name, **values))
    return tuple(means)


# JSON: strict (no NaN/Infinity tokens); NaN is null, infinities are the strings "inf"/"-inf".


def encode_float(value: float) -> float | str | None:
    """A float as strict JSON: NaN -> null, +-inf -> "inf"/"-inf"."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def decode_float(value: float | str | None) -> float:
    """Inverse of `encode_float`."""
    return math.nan if value is None else float(value)


def scores_to_json(scores: MethodScores) -> dict[str, Any]:
    data: dict[str, Any] = {"method": scores.method}
    data.update({key: encode_float(getattr(scores, key)) for key in SCORE_FIELDS})
    data["psnr_per_frame"] = [encode_float(v) for v in scores.psnr_per_frame]
    data["flicker_per_frame"] = [encode_float(v) for v in scores.flicker_per_frame]
    return data


def scores_from_json(data: dict[str, Any]) -> MethodScores:
    return MethodScores(
        method=data["method"],
        **{key: decode_float(data[key]) for key in SCORE_FIELDS},
        psnr_per_frame=tuple(decode_float(v) for v in data.get("psnr_per_frame", [])),
        flicker_per_frame=tuple(decode_float(v) for v in data.get("flicker_per_frame", [])),
    )


def clip_to_json(clip: ClipResult) -> dict[str, Any]:
    data = {
        f.name: getattr(clip, f.name) for f in fields(clip) if f.name not in ("methods", "samples")
    }
    data["methods"] = [scores_to_json(s) for s in clip.methods]
    return data


def clip_from_json(data: dict[str, Any]) -> ClipResult:
    return ClipResult(
        name=data["name"],
        source=data["source"],
        scale=int(data["scale"]),
        frames=int(data["frames"]),
        faces=int(data["faces"]),
        width=int(data["width"]),
        height=int(data["height"]),
        methods=tuple(scores_from_json(m) for m in data["methods"]),
    )


def meta_to_json(meta: ReportMeta) -> dict[str, Any]:
    data = {f.name: getattr(meta, f.name) for f in fields(meta) if f.name != "settings"}
    data["settings"] = dict(meta.settings)
    return data


def meta_from_json(data: dict[str, Any]) -> ReportMeta:
    values = {f.name: data[f.name] for f in fields(ReportMeta) if f.name in data}
    values["settings"] = tuple((str(k), str(v)) for k, v in data.get("settings", {}).items())
    return ReportMeta(**values)
