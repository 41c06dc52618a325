"""The degradation `evaluate` uses to make low-resolution input from a high-resolution clip.

Exactly, for every frame and scale S:

1. Crop to a multiple of S: drop the last ``H mod S`` rows and ``W mod S`` columns (bottom and
   right), so the kept pixels keep their coordinates and the HR reference is exactly S times the
   LR frame. The same crop is applied to the reference (`crop_to_multiple`).
2. Downscale by S with Pillow's ``Image.resize(..., resample=Image.Resampling.BICUBIC,
   reducing_gap=None)`` on the 8-bit RGB frame. Pillow's resampling widens the bicubic kernel
   (a = -0.5) by the scale factor when shrinking, so this is an antialiased bicubic (like
   MATLAB's ``imresize``), computed in one pass (``reducing_gap=None``: no box pre-reduction).
   The result is rounded to uint8.

No blur beyond the kernel, no noise and no compression: the same clean bicubic degradation as the
face SR papers' benchmarks, so the figures are comparable with theirs. Frames are (H, W, 3) uint8
RGB here because this runs at the video edge, before the pipeline's float tensors.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

DEGRADATION = (
    "crop to a multiple of S (bottom/right), then Pillow Image.resize by 1/S with "
    "Resampling.BICUBIC (antialiased, a=-0.5) and reducing_gap=None, on 8-bit RGB"
)


def _check(frame: np.ndarray, scale: int) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if frame.shape[0] < scale or frame.shape[1] < scale:
        raise ValueError(f"frame {frame.shape[:2]} is smaller than the scale {scale}")


def crop_to_multiple(frame: np.ndarray, scale: int) -> np.ndarray:
    """Drop bottom rows and right columns so height and width divide by ``scale``.

    Args:
        frame: (H, W, 3) uint8 RGB.

    Returns:
        (H - H mod S, W - W mod S, 3) view of the frame (no copy).
    """
    _check(frame, scale)
    height, width = frame.shape[:2]
    return frame[: height - height % scale, : width - width % scale]


def downscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """Low-resolution version of a high-resolution frame (see the module docstring).

    Args:
        frame: (H, W, 3) uint8 RGB.
        scale: integer factor S (4 or 8 for evaluate).

    Returns:
        (H // S, W // S, 3) uint8 RGB.
    """
    cropped = crop_to_multiple(frame, scale)
    height, width = cropped.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(cropped))
    small = image.resize(
        (width // scale, height // scale),
        resample=Image.Resampling.BICUBIC,
        reducing_gap=None,
    )
    return np.array(small, dtype=np.uint8)  # writable: stages may hand it to torch


def upscale_nearest(frame: np.ndarray, scale: int) -> np.ndarray:
    """Pixel-replicated enlargement, to show the LR input at the output size in pictures.

    Args:
        frame: (h, w, 3) uint8.

    Returns:
        (h * S, w * S, 3) uint8.
    """
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def upscale_bicubic(frame: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic baseline: Pillow BICUBIC enlargement by ``scale``.

    Args:
        frame: (h, w, 3) uint8.

    Returns:
        (h * S, w * S, 3) uint8.
    """
    height, width = frame.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(frame))
    return np.asarray(
        image.resize((width * scale, height * scale), resample=Image.Resampling.BICUBIC),
        dtype=np.uint8,
    )
