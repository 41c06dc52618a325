"""Ctrl-C in the middle of a batch: the finished outputs stay recorded, the one in flight leaves
nothing, and a rerun completes the rest."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.enhance.resume import RECORD_NAME
from tests.cli.test_interrupts import _run_and_signal
from tests.video.clips import write_clip


@pytest.mark.slow
def test_batch_interrupted_then_rerun(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):  # a few seconds each on a busy CPU
        write_clip(videos / name, [i * 3000 for i in range(90)], size=(320, 240))
    out = tmp_path / "out"
    args = ["enhance", str(videos), "--out-dir", str(out), "-s", "4", "--faces", "none"]
    args += ["--preset", "ultrafast"]
    out.mkdir()
    code, lines, _ = _run_and_signal(args, out, ".b.*.partial.mp4", signal.SIGINT)
    assert code == 130, lines
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), lines
    assert sorted(p.name for p in out.iterdir()) == [RECORD_NAME, "a.mp4"]
    first = (out / "a.mp4").stat().st_mtime_ns
    assert main(["-q", "enhance", str(videos), "--out-dir", str(out), *args[4:]]) == 0
    assert sorted(p.name for p in out.iterdir()) == [RECORD_NAME, "a.mp4", "b.mp4", "c.mp4"]
    assert (out / "a.mp4").stat().st_mtime_ns == first  # skipped, not redone
