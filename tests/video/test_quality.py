"""Clean or compressed input, told from the stream's bits per pixel."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from facesr_video.video.quality import (
    COMPRESSED_BELOW_BPP,
    classify,
    measure_stream_quality,
    resolve_input_quality,
)


def _smooth_frames(count: int = 24, size: tuple[int, int] = (96, 128)) -> list[np.ndarray]:
    """A lit gradient with a moving disc: content a codec codes as cheaply as real footage."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for t in range(count):
        disc = ((x - 30 - 2 * t) ** 2 + (y - h / 2) ** 2) < 15**2
        base = 60 + 120 * x / w + 40 * y / h
        rgb = np.stack([base, base * 0.8, base * 0.6], -1) + 50 * disc[..., None]
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return frames


def _write(path: Path, codec: str, options: dict[str, str], pix_fmt: str) -> Path:
    frames = _smooth_frames()
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.options = options
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


def test_a_crf_23_stream_is_compressed(tmp_path: Path) -> None:
    found = measure_stream_quality(_write(tmp_path / "a.mp4", "libx264", {"crf": "23"}, "yuv420p"))
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
    found = measure_stream_quality(_write(tmp_path / name, codec, options, pix_fmt))
    assert found.lossless and found.quality == "clean"


def test_images_and_explicit_choices(tmp_path: Path) -> None:
    png = tmp_path / "face.png"
    Image.fromarray(_smooth_frames(1)[0]).save(png)
    assert measure_stream_quality(png).quality == "clean"
    video = _write(tmp_path / "a.mp4", "libx264", {"crf": "30"}, "yuv420p")
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
