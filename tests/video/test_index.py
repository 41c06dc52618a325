"""video/index.py: frame timestamps and keyframes read by demuxing alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.errors import InputError
from facesr_video.video.index import index_frames
from tests.scale.clips import write_gop_clip
from tests.video.clips import read_video


def test_index_matches_the_decoded_frames_and_finds_every_keyframe(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "gop.mp4", frames=40, gop=10, audio_seconds=0)
    index = index_frames(src)
    decoded = read_video(src).times
    assert len(index) == len(decoded) == 40
    assert [p * index.time_base for p in index.pts] == decoded
    assert list(index.keyframes) == [0, 10, 20, 30]
    assert index.keyframe_at_or_before(25) == 20 and index.keyframe_at_or_before(10) == 10
    assert index.first_at(0.0) == 0 and index.first_at(1.0) == 30  # 30 fps
    assert index.first_at(1.0 + 1e-4) == 31 and index.first_at(99.0) == 40
    assert index.seconds(15) == pytest.approx(0.5)


def test_index_of_a_non_video_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError):
        index_frames(bad)
