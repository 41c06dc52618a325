"""Clean or compressed input, told from the stream's bits per pixel."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from facesr_video.video.quality import (
    COMPRESSED_BELOW_BPP,
    classify,
    measure_stream_quality,
    resolve_input_quality,
)
from tests.video.clips import smooth_frames, write_coded_clip


def test_a_crf_23_stream_is_compressed(tmp_path: Path) -> None:
    found = measure_stream_quality(
        write_coded_clip(tmp_path / "a.mp4", "libx264", {"crf": "23"}, "yuv420p")
    )
    assert found.codec == "h264" and not found.lossless
    assert found.bits_per_pixel is not None and found.bits_per_pixel < COMPRESSED_BELOW_BPP
    assert found.quality == "compressed"


@pytest.mark.parametrize(
    ("name", "codec", "options", "pix_fmt"),
    [
        ("qp0.mp4", "libx264", {"qp": "0"}, "yuv444p"),
        ("ffv1.mkv", "ffv1", {}, "yuv444p"),
    ],
)
def test_lossless_streams_are_clean(
    tmp_path: Path, name: str, codec: str, options: dict[str, str], pix_fmt: str
) -> None:
    found = measure_stream_quality(write_coded_clip(tmp_path / name, codec, options, pix_fmt))
    assert found.lossless and found.quality == "clean"


def test_images_and_explicit_choices(tmp_path: Path) -> None:
    png = tmp_path / "face.png"
    Image.fromarray(smooth_frames(1)[0]).save(png)
    assert measure_stream_quality(png).quality == "clean"
    video = write_coded_clip(tmp_path / "a.mp4", "libx264", {"crf": "30"}, "yuv420p")
    assert resolve_input_quality("auto", video) == "compressed"
    assert resolve_input_quality("clean", video) == "clean"
    assert resolve_input_quality("compressed", png) == "compressed"
    with pytest.raises(ValueError, match="input quality"):
        resolve_input_quality("lossy", video)


def test_classify_threshold() -> None:
    assert classify(COMPRESSED_BELOW_BPP * 0.9) == "compressed"
    assert classify(COMPRESSED_BELOW_BPP * 1.1) == "clean"
    assert classify(0.01, lossless=True) == "clean"
    assert classify(None) == "clean"
