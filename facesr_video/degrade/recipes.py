"""Realistic low-resolution input made from an HR crop at train time.

Order, as a camera + codec would do it: Gaussian blur (sigma drawn per sample, scaled with S so
x8 blurs more), antialiased bicubic downscale by S (PIL filters over the whole footprint), additive
Gaussian noise, then one codec: H.264 (libx264, intra, random CRF; h264.py) or JPEG at a random
quality, or none. Every draw comes from the generator passed
in, so a seed reproduces a sample exactly (training resumes identically; validation is fixed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from facesr_video.degrade.h264 import h264_round_trip


@dataclass(frozen=True)
class DegradeConfig:
    """Ranges the random degradation draws from (uniform). Blur sigma is in LR pixels."""

    blur_sigma: tuple[float, float] = (0.2, 0.8)
    noise_sigma: tuple[float, float] = (0.0, 6.0)  # in 0..255 grey levels
    jpeg_quality: tuple[int, int] = (45, 95)
    jpeg_probability: float = 0.8
    h264_probability: float = 0.0  # tried first; JPEG only when H.264 was not drawn
    h264_crf: tuple[int, int] = (18, 32)


CLEAN = DegradeConfig(blur_sigma=(0.0, 0.0), noise_sigma=(0.0, 0.0), jpeg_probability=0.0)
"""The antialiased bicubic downscale alone (what `evaluate --degradation bicubic` does)."""

DEGRADATIONS: dict[str, DegradeConfig] = {
    # What users feed: clean downscaled video half of the time, H.264 at ordinary CRFs the
    # other half (evaluate measures both; the shipped default since weights v2).
    "video": replace(CLEAN, h264_probability=0.5),
    # Compressed video only.
    "h264": replace(CLEAN, h264_probability=1.0),
    # Old, compressed footage: extra blur, sensor noise, JPEG.
    "realistic": DegradeConfig(),
    # The clean antialiased bicubic downscale that `evaluate` uses: nothing else.
    "bicubic": CLEAN,
    # From clean to mildly degraded, JPEG instead of H.264 (the weights v1 recipe).
    "mixed": DegradeConfig(
        blur_sigma=(0.0, 0.5), noise_sigma=(0.0, 3.0), jpeg_quality=(60, 95), jpeg_probability=0.5
    ),
}
"""Named degradation recipes for `train --degradation`."""


def degrade(
    hr: np.ndarray,
    scale: int,
    rng: np.random.Generator | int,
    config: DegradeConfig = DegradeConfig(),  # noqa: B008
) -> np.ndarray:
    """hr (S*n, S*m, 3) uint8 -> lr (n, m, 3) uint8, deterministic for a given seed/generator."""
    if isinstance(rng, int):
        rng = np.random.default_rng(rng)
    h, w = hr.shape[:2]
    if hr.ndim != 3 or hr.shape[2] != 3 or h % scale or w % scale:
        raise ValueError(f"hr must be (S*n, S*m, 3) with S={scale}, got {hr.shape}")
    img = hr.astype(np.float32)
    sigma = rng.uniform(*config.blur_sigma) * scale
    img = gaussian_filter(img, sigma=(sigma, sigma, 0), mode="reflect")
    small = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)).resize(
        (w // scale, h // scale), Image.Resampling.BICUBIC
    )
    lr = np.asarray(small, dtype=np.float32)
    noise = rng.uniform(*config.noise_sigma)
    lr = lr + rng.normal(0.0, 1.0, size=lr.shape).astype(np.float32) * noise
    lr8 = np.clip(lr + 0.5, 0, 255).astype(np.uint8)
    use_h264 = rng.uniform() < config.h264_probability
    crf = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
    use_jpeg = rng.uniform() < config.jpeg_probability
    quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    if use_h264:
        return h264_round_trip([lr8], crf)[0]
    if use_jpeg:
        buffer = io.BytesIO()
        Image.fromarray(lr8).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        lr8 = np.asarray(Image.open(buffer).convert("RGB"))
    return np.ascontiguousarray(lr8)
