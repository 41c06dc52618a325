"""probe(): real clips describe themselves correctly; unusable inputs give one InputError."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from facesr_video.errors import InputError
from facesr_video.video.probe import probe
from tests.conftest import DATA, require
from tests.video.clips import write_audio_only, write_clip

GRID = DATA / "videos/grid/sbwe5n.mpg"
WH = DATA / "videos/whitehouse/wh_obama_02.mp4"
CREMA = DATA / "videos/crema_d/1001_DFA_HAP_XX.flv"


def test_probe_grid_mpeg1_with_mp2() -> None:
    info = probe(require(GRID))
    assert info.format == "mpeg"
    assert (info.video.width, info.video.height) == (360, 288)
    assert info.video.codec == "mpeg1video"
    assert info.video.average_rate == 25
    assert info.video.bit_depth == 8
    assert [a.codec for a in info.audio] == ["mp2"]
    assert info.audio[0].sample_rate == 44100


def test_probe_whitehouse_mp4_counts_frames() -> None:
    info = probe(require(WH))
    assert info.video.frame_count == 66
    assert info.video.time_base == Fraction(1, 11988)
    assert info.expected_frames == 66
    assert info.audio[0].codec == "aac"


def test_probe_flv_ignores_data_stream() -> None:
    info = probe(require(CREMA))
    assert info.video.codec == "vp6f"
    assert info.video.frame_count is None
    assert info.expected_frames is not None and 50 < info.expected_frames < 70
    assert len(info.audio) == 1


def test_probe_rotation_and_ten_bit(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "r.mp4", [0, 3000, 6000], pix_fmt="yuv420p10le", rotation=90)
    info = probe(clip)
    assert info.video.rotation == 90
    assert info.video.bit_depth == 10
    assert info.video.pix_fmt == "yuv420p10le"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing.mp4", "not found"),
        (lambda d: (d / "t.mp4").write_text("hello\n" * 50) and d / "t.mp4", "not a video"),
        (lambda d: (d / "z.mp4").write_bytes(b"") or d / "z.mp4", "empty"),
        (lambda d: d, "folder"),
        (lambda d: write_audio_only(d / "a.m4a"), "no video stream"),
    ],
    ids=["missing", "text", "zero-bytes", "folder", "audio-only"],
)
def test_probe_refuses(tmp_path: Path, make, words: str) -> None:
    with pytest.raises(InputError, match=words):
        probe(make(tmp_path))


def test_probe_refuses_still_image() -> None:
    image = require(DATA / "faces/congress")
    with pytest.raises(InputError, match="still image"):
        probe(next(iter(sorted(image.glob("*.jpg")))))
