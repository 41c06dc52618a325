"""Scene cuts: a frame that differs from the last far more than the last few differed.

A cut ends every face track (faces/track.py, analysis/sequence.py), so neither the smoother nor
the multi-frame network carries one shot's face into the next. The measure is the mean absolute
difference of small grey thumbnails, compared with the recent differences so that a shaky
hand-held clip (up to ~0.03 between frames, measured on the OpenMPF clips) is not cut while a cut
between two shots of the same podium (White House: 0.19) is.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PIL import Image

THUMBNAIL = (32, 18)
MIN_CUT = 0.06  # mean absolute difference, [0, 1] units: below this, never a cut
RELATIVE_CUT = 6.0  # ...and this many times the recent median difference
FLOOR = 0.003  # the recent median is never taken below this (still footage)


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> small grey float32 image in [0, 1] (area average)."""
    grey = Image.fromarray(rgb).convert("L").resize(THUMBNAIL, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32) / 255.0


class ShotChangeDetector:
    """Push frames in order; `push` says whether a new shot starts at this frame."""

    def __init__(self, history: int = 8) -> None:
        self._previous: np.ndarray | None = None
        self._recent: deque[float] = deque(maxlen=history)
        self.cuts = 0

    def push(self, rgb: np.ndarray) -> bool:
        small = thumbnail(rgb)
        previous, self._previous = self._previous, small
        if previous is None or previous.shape != small.shape:
            return False
        difference = float(np.abs(small - previous).mean())
        usual = max(FLOOR, float(np.median(self._recent))) if self._recent else FLOOR
        cut = difference > MIN_CUT and difference > RELATIVE_CUT * usual
        if cut:
            self._recent.clear()
            self.cuts += 1
        else:
            self._recent.append(difference)
        return cut
