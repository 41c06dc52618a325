"""The low-resolution input extract-priors fits on, made from each high-resolution frame.

`bicubic` is evaluate's clean degradation (eval/degrade.py). `realistic` (the default, for
training data) is sr/degrade.py's blur -> downscale -> noise -> JPEG, with the blur, noise level
and JPEG quality drawn once per source (a video is filmed with one camera and coded with one
setting, so they do not flicker from frame to frame) and fresh noise per frame. The draws come
from (seed, source id), so a rerun or a resumed run makes exactly the same input.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from facesr_video.errors import InputError
from facesr_video.eval.degrade import degrade as bicubic_degrade
from facesr_video.sr.degrade import DegradeConfig
from facesr_video.sr.degrade import degrade as realistic_degrade

Degradation = Literal["bicubic", "realistic"]
DEGRADATIONS: tuple[str, ...] = ("bicubic", "realistic")


@dataclass(frozen=True)
class SourceDegrader:
    """Degrades the frames of one source, in order: hr (S*h, S*w, 3) uint8 -> (h, w, 3) uint8."""

    scale: int
    config: DegradeConfig | None  # None: bicubic
    rng: np.random.Generator | None

    def __call__(self, hr: np.ndarray) -> np.ndarray:
        if self.config is None or self.rng is None:
            return bicubic_degrade(hr, self.scale)
        return realistic_degrade(hr, self.scale, self.rng, self.config)


def source_degrader(
    kind: str,
    scale: int,
    seed: int,
    source: str,
    ranges: DegradeConfig = DegradeConfig(),  # noqa: B008
) -> SourceDegrader:
    """The degrader of one source, with its parameters drawn from (seed, source)."""
    if kind == "bicubic":
        return SourceDegrader(scale, None, None)
    if kind != "realistic":
        raise InputError(f"unknown degradation {kind!r}", f"use one of {', '.join(DEGRADATIONS)}")
    rng = np.random.default_rng([seed, zlib.crc32(source.encode("utf-8"))])
    blur = float(rng.uniform(*ranges.blur_sigma))
    noise = float(rng.uniform(*ranges.noise_sigma))
    quality = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1))
    jpeg = bool(rng.uniform() < ranges.jpeg_probability)
    fixed = DegradeConfig(
        blur_sigma=(blur, blur),
        noise_sigma=(noise, noise),
        jpeg_quality=(quality, quality),
        jpeg_probability=1.0 if jpeg else 0.0,
    )
    return SourceDegrader(scale, fixed, rng)
