"""Realistic low-resolution input made from an HR crop at train time.

Order, as a camera + codec would do it: Gaussian blur (sigma drawn per sample, scaled with S so
x8 blurs more), antialiased bicubic downscale by S (PIL filters over the whole footprint), additive
Gaussian noise, then one codec: H.264 (libx264 at a random CRF; h264.py) or JPEG at a random
quality, or none. The draws are made once per sample (`draw_degradation`) and applied to one frame
or to a short clip of the same shot (`degrade_clip`: same blur and codec, fresh noise, H.264 as one
stream so later frames are predicted pictures, as in a coded video). Every draw comes from the
generator passed in, so a seed reproduces a sample exactly (training resumes identically;
validation is fixed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from facesr_video.dataset.degrade.h264 import H264Stream


@dataclass(frozen=True)
class DegradeConfig:
    """Ranges the random degradation draws from (uniform). Blur sigma is in LR pixels."""

    blur_sigma: tuple[float, float] = (0.2, 0.8)
    noise_sigma: tuple[float, float] = (0.0, 6.0)  # in 0..255 grey levels
    jpeg_quality: tuple[int, int] = (45, 95)
    jpeg_probability: float = 0.8
    h264_probability: float = 0.0  # tried first; JPEG only when H.264 was not drawn
    h264_crf: tuple[int, int] = (18, 32)
    # How an H.264 draw is coded (train-time datasets read these; `degrade` codes what it gets).
    # 1 frame and no context = the patch alone as one intra picture: 16-32 px, artefacts unlike a
    # coded video's. More frames: the patch is the last of a short moving clip (a P-frame).
    h264_frames: int = 1
    h264_context: int = 0  # LR px of picture coded around the patch on each side


@dataclass(frozen=True)
class DegradeDraw:
    """One sample's draws from a DegradeConfig (shared by every frame of its clip)."""

    blur_sigma: float  # in HR px
    noise_sigma: float  # in 0..255 grey levels
    codec: str  # "h264", "jpeg" or "none"
    crf: int
    jpeg_quality: int


VIDEO_FRAMES = 3
"""Frames of a coded training clip: the target follows two predicted-from pictures."""

CLEAN = DegradeConfig(blur_sigma=(0.0, 0.0), noise_sigma=(0.0, 0.0), jpeg_probability=0.0)
"""The antialiased bicubic downscale alone (what `evaluate --degradation bicubic` does)."""

DEGRADATIONS: dict[str, DegradeConfig] = {
    # What users feed: clean downscaled video half of the time, H.264 at ordinary CRFs the
    # other half, coded as a video is (evaluate measures both).
    "video": replace(CLEAN, h264_probability=0.5, h264_frames=VIDEO_FRAMES, h264_context=16),
    # Compressed video only, coded as a video is.
    "h264": replace(CLEAN, h264_probability=1.0, h264_frames=VIDEO_FRAMES, h264_context=16),
    # The weights v2 first-stage recipes: each patch alone as one intra picture.
    "video-intra": replace(CLEAN, h264_probability=0.5),
    "h264-intra": replace(CLEAN, h264_probability=1.0),
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


def draw_degradation(rng: np.random.Generator, config: DegradeConfig, scale: int) -> DegradeDraw:
    """What happens to one sample: blur (HR px), noise level, codec and its setting."""
    sigma = float(rng.uniform(*config.blur_sigma)) * scale
    noise = float(rng.uniform(*config.noise_sigma))
    use_h264 = rng.uniform() < config.h264_probability
    crf = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
    use_jpeg = rng.uniform() < config.jpeg_probability
    quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    codec = "h264" if use_h264 else "jpeg" if use_jpeg else "none"
    return DegradeDraw(sigma, noise, codec, crf, quality)


def degrade_clip(
    frames: Sequence[np.ndarray], scale: int, draw: DegradeDraw, rng: np.random.Generator
) -> list[np.ndarray]:
    """HR frames of one shot, in order, each (S*n, S*m, 3) uint8 -> their LR frames (n, m, 3).

    Same blur and codec for all, fresh noise per frame; H.264 codes them as one stream (the
    first an intra picture, the rest predicted from the ones before, as evaluate's clips are).
    """
    lows = []
    for hr in frames:
        h, w = hr.shape[:2]
        if hr.ndim != 3 or hr.shape[2] != 3 or h % scale or w % scale:
            raise ValueError(f"hr must be (S*n, S*m, 3) with S={scale}, got {hr.shape}")
        img = hr.astype(np.float32)
        if draw.blur_sigma > 0:
            img = gaussian_filter(img, sigma=(draw.blur_sigma, draw.blur_sigma, 0), mode="reflect")
        small = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)).resize(
            (w // scale, h // scale), Image.Resampling.BICUBIC
        )
        lr = np.asarray(small, dtype=np.float32)
        lr = lr + rng.normal(0.0, 1.0, size=lr.shape).astype(np.float32) * draw.noise_sigma
        lows.append(np.clip(lr + 0.5, 0, 255).astype(np.uint8))
    if draw.codec == "h264":
        stream = H264Stream(draw.crf)
        return [stream(low) for low in lows]
    if draw.codec == "jpeg":
        return [_jpeg(low, draw.jpeg_quality) for low in lows]
    return [np.ascontiguousarray(low) for low in lows]


def degrade(
    hr: np.ndarray,
    scale: int,
    rng: np.random.Generator | int,
    config: DegradeConfig = DegradeConfig(),  # noqa: B008
) -> np.ndarray:
    """hr (S*n, S*m, 3) uint8 -> lr (n, m, 3) uint8, deterministic for a given seed/generator.

    One frame alone (an H.264 draw codes it as one intra picture); datasets that follow
    `config.h264_frames`/`h264_context` build the clip themselves and call `degrade_clip`.
    """
    if isinstance(rng, int):
        rng = np.random.default_rng(rng)
    return degrade_clip([hr], scale, draw_degradation(rng, config, scale), rng)[0]


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.ascontiguousarray(np.asarray(Image.open(buffer).convert("RGB")))
