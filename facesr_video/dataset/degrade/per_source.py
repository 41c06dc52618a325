"""The low-resolution input extract-priors fits on, made from each high-resolution frame.

Any recipe of `recipes.DEGRADATIONS` (the names `train --degradation` takes). `bicubic` is
evaluate's clean degradation exactly (bicubic.py). The others draw their parameters once per
source (a video is filmed with one camera and coded with one setting, so blur, noise level, JPEG
quality or H.264 CRF do not flicker from frame to frame), with fresh noise per frame; a source
that draws H.264 is coded as one stream (H264Stream: P-frames refer to the previous pictures),
like the videos users have. The draws come from (seed, source id), so a rerun or a resumed run
makes exactly the same input.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.dataset.degrade.h264 import H264Stream
from facesr_video.dataset.degrade.recipes import DEGRADATIONS, DegradeConfig, degrade
from facesr_video.errors import InputError


@dataclass(frozen=True)
class SourceDegrader:
    """Degrades the frames of one source, in order: hr (S*h, S*w, 3) uint8 -> (h, w, 3) uint8."""

    scale: int
    config: DegradeConfig | None  # None: bicubic
    rng: np.random.Generator | None
    codec: H264Stream | None = None  # the source's H.264 stream, after the rest of the recipe

    def __call__(self, hr: np.ndarray) -> np.ndarray:
        if self.config is None or self.rng is None:
            return downscale(hr, self.scale)
        low = degrade(hr, self.scale, self.rng, self.config)
        return low if self.codec is None else self.codec(low)


def source_degrader(kind: str, scale: int, seed: int, source: str) -> SourceDegrader:
    """The degrader of one source, with its parameters drawn from (seed, source)."""
    if kind not in DEGRADATIONS:
        raise InputError(
            f"unknown degradation {kind!r}", f"use one of {', '.join(sorted(DEGRADATIONS))}"
        )
    if kind == "bicubic":
        return SourceDegrader(scale, None, None)
    ranges = DEGRADATIONS[kind]
    rng = np.random.default_rng([seed, zlib.crc32(source.encode("utf-8"))])
    blur = float(rng.uniform(*ranges.blur_sigma))
    noise = float(rng.uniform(*ranges.noise_sigma))
    quality = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1))
    jpeg = bool(rng.uniform() < ranges.jpeg_probability)
    crf = int(rng.integers(ranges.h264_crf[0], ranges.h264_crf[1] + 1))
    h264 = bool(rng.uniform() < ranges.h264_probability)
    fixed = replace(
        ranges,
        blur_sigma=(blur, blur),
        noise_sigma=(noise, noise),
        jpeg_quality=(quality, quality),
        jpeg_probability=1.0 if jpeg and not h264 else 0.0,
        h264_probability=0.0,
    )
    return SourceDegrader(scale, fixed, rng, H264Stream(crf) if h264 else None)
