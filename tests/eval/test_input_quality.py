"""evaluate's `--input-quality auto` decides as enhance's would on the same coded clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.dataset.degrade.h264 import H264Stream
from facesr_video.eval.clips import list_clips, original_frames
from facesr_video.eval.evaluate import H264_CRF, EvaluateOptions
from facesr_video.eval.methods import evaluated_input_quality
from facesr_video.video.quality import classify

CLIP = Path(__file__).resolve().parents[2].parent / "shared/data/videos/whitehouse/wh_obama_01.mp4"


def _options(**kw: object) -> EvaluateOptions:
    return EvaluateOptions(inputs=(CLIP,), out=Path("unused"), scale=4, **kw)  # type: ignore[arg-type]


@pytest.mark.skipif(not CLIP.is_file(), reason=f"needs the White House clips at {CLIP.parent}")
def test_the_h264_degradation_is_a_stream_auto_calls_compressed() -> None:
    codec = H264Stream(H264_CRF)
    clip = list_clips([CLIP], max_frames=24)[0]
    for frame in original_frames(clip, 4, 24):
        codec(downscale(frame.rgb, 4))
    assert codec.bits_per_pixel is not None and classify(codec.bits_per_pixel) == "compressed"
    assert evaluated_input_quality(_options(degradation="h264")) == "compressed"


def test_clean_input_and_explicit_choices() -> None:
    assert evaluated_input_quality(_options()) == "clean"
    assert evaluated_input_quality(_options(degradation="h264", input_quality="clean")) == "clean"
    assert evaluated_input_quality(_options(input_quality="compressed")) == "compressed"


def test_the_stream_counts_its_bits() -> None:
    codec = H264Stream(23)
    assert codec.bits_per_pixel is None
    rng = np.random.default_rng(0)
    for _ in range(3):
        codec(rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))
    assert codec.bits > 0 and codec.bits_per_pixel == codec.bits / (3 * 32 * 48)
