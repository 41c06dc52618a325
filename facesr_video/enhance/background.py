"""Plain upscaling of whole frames: the background under the faces, and frames without faces."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

from facesr_video.video.decode import Frame

METHODS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
SCALES = (2, 4, 8)


def upscale_frame(rgb: np.ndarray, scale: int, method: str = "bicubic") -> np.ndarray:
    """Resize (H, W, 3) uint8 to (H*scale, W*scale, 3) uint8.

    PIL maps pixel centres onto pixel centres (output x' samples input (x' + 0.5) / s - 0.5),
    the same convention as the rest of the code. The result is read-only (copy to draw on it);
    going through tobytes is about twice as fast as np.asarray on a PIL image.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {sorted(METHODS)}")
    height, width = rgb.shape[:2]
    image = Image.fromarray(rgb)
    big = image.resize((width * scale, height * scale), METHODS[method])
    return np.frombuffer(big.tobytes(), np.uint8).reshape(height * scale, width * scale, 3)


def upscale_frames(frames: Iterator[Frame], scale: int, method: str) -> Iterator[Frame]:
    """The plain frame stage: every frame upscaled, timing untouched."""
    for frame in frames:
        yield frame.with_rgb(upscale_frame(frame.rgb, scale, method))
