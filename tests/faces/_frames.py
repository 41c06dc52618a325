"""Real frames for the face tests, decoded with PyAV straight from ../shared (skipped if absent)."""

from __future__ import annotations

from functools import cache

import av
import numpy as np
from PIL import Image

from tests.conftest import DATA, require

WH_CLIP = DATA / "videos" / "whitehouse" / "wh_obama_01.mp4"


@cache
def _wh_frames(count: int) -> tuple[np.ndarray, ...]:
    with av.open(str(WH_CLIP)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return tuple(frames)


def wh_frames(count: int = 1, factor: int = 1) -> list[np.ndarray]:
    """The first `count` frames of a 1280x720 WhiteHouse clip, downscaled by `factor`."""
    require(WH_CLIP)
    out = []
    for rgb in _wh_frames(count):
        if factor > 1:
            size = (rgb.shape[1] // factor, rgb.shape[0] // factor)
            rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC, reducing_gap=None))
        out.append(rgb)
    return out
