"""H.264 round trips: shapes kept (odd sizes too), real compression loss that grows with CRF."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.dataset.degrade.h264 import H264Stream
from facesr_video.dataset.degrade.recipes import DEGRADATIONS, degrade
from tests.dataset.conftest import synthetic_sample


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def _image(size: int) -> np.ndarray:
    return synthetic_sample(np.random.default_rng(3), "a", 0, 0, size // 4, 4).hr[:size, :size]


@pytest.mark.parametrize("shape", [(32, 32), (33, 47)])
def test_stream_keeps_shape_and_count(shape: tuple[int, int]) -> None:
    frames = [np.ascontiguousarray(_image(64)[: shape[0], : shape[1]]) for _ in range(3)]
    stream = H264Stream(crf=23)
    out = [stream(frame) for frame in frames]
    assert len(out) == 3
    assert all(f.shape == (*shape, 3) and f.dtype == np.uint8 for f in out)


def test_higher_crf_loses_more() -> None:
    image = _image(64)
    fine, coarse = (H264Stream(crf)(image) for crf in (12, 40))
    assert _psnr(fine, image) > _psnr(coarse, image) + 3
    assert 20 < _psnr(coarse, image) < 60


def test_h264_recipe_differs_from_clean_and_is_seeded() -> None:
    hr = synthetic_sample(np.random.default_rng(1), "a", 0, 0, 32, 4).hr
    clean = degrade(hr, 4, 5, DEGRADATIONS["bicubic"])
    coded = degrade(hr, 4, 5, DEGRADATIONS["h264"])
    assert coded.shape == clean.shape
    assert not np.array_equal(coded, clean)
    assert np.array_equal(coded, degrade(hr, 4, 5, DEGRADATIONS["h264"]))
    assert _psnr(coded, clean) > 18  # the same picture (saturated blobs lose chroma in 4:2:0)


def test_stream_is_one_in_one_out_and_codes_like_the_clip() -> None:
    frames = [np.roll(_image(64), shift, axis=1) for shift in range(0, 12, 2)]
    stream = H264Stream(crf=23)
    out = [stream(frame) for frame in frames]
    assert len(out) == len(frames) and all(f.shape == frames[0].shape for f in out)
    assert all(25 < _psnr(a, b) < 60 for a, b in zip(out, frames, strict=True))
    with pytest.raises(ValueError, match="after"):
        stream(frames[0][:32])
