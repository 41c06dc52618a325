"""--compare: plain upscale | enhanced side by side, with the output's frames and timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facesr_video.cli import main
from facesr_video.enhance.compare import side_by_side
from tests.video.clips import read_video, write_clip


def test_compare_is_twice_as_wide_with_the_same_frames(tmp_path: Path) -> None:
    pts = [0, 3000, 9000, 10000, 30000]  # variable frame rate
    src = write_clip(tmp_path / "in.mp4", pts, audio_seconds=0.3, duration=1000)
    out, compare = tmp_path / "out.mp4", tmp_path / "side.mp4"
    args = ["enhance", str(src), str(out), "-s", "2", "--faces", "none", "--preset", "ultrafast"]
    assert main([*args, "--compare", str(compare)]) == 0
    enhanced, side = read_video(out), read_video(compare)
    assert (side.width, side.height) == (2 * enhanced.width, enhanced.height)
    assert side.times == enhanced.times and side.end == enhanced.end


def test_compare_must_not_replace_the_output(tmp_path: Path, capsys) -> None:
    src = write_clip(tmp_path / "in.mp4", [0, 3000])
    out = tmp_path / "out.mp4"
    args = ["enhance", str(src), str(out), "-s", "2", "--faces", "none", "--compare", str(out)]
    assert main(args) == 2
    assert "--compare is the output file" in capsys.readouterr().err
    assert not out.exists()


def test_side_by_side_labels_each_half() -> None:
    left = np.zeros((96, 64, 3), np.uint8)
    right = np.full((96, 64, 3), 128, np.uint8)
    joined = side_by_side(left, right)
    assert joined.shape == (96, 128, 3)
    assert (joined[:, :64] > 200).any() and (joined[:, 64:] > 200).any()  # white text, each half
    assert (joined[-10:, :64] == 0).all() and (joined[-10:, 64:] == 128).all()  # pixels kept
