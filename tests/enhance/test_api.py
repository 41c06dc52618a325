"""facesr_video.enhance(...) called as a user would: one file, a list, typed summaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import facesr_video
from facesr_video.enhance.batch import BatchSummary
from facesr_video.enhance.run import EnhanceSummary
from facesr_video.errors import InputError, OutputError
from tests.conftest import REPO
from tests.video.clips import read_video, write_clip

PLAIN = {"faces": "none", "preset": "ultrafast", "quiet": True}


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    return [write_clip(tmp_path / f"{n}.mp4", [0, 3000, 6000], audio_seconds=0.1) for n in "ab"]


def test_one_file(tmp_path: Path, clips: list[Path]) -> None:
    out = tmp_path / "out.mp4"
    summary = facesr_video.enhance(str(clips[0]), out, 2, **PLAIN)
    assert isinstance(summary, EnhanceSummary)
    assert (summary.frames, summary.faces_enhanced, summary.output) == (3, 0, out)
    assert read_video(out).width == 128


def test_a_list_into_a_folder_then_again(tmp_path: Path, clips: list[Path]) -> None:
    out = tmp_path / "out"
    summary = facesr_video.enhance(clips, out_dir=out, scale=2, **PLAIN)
    assert isinstance(summary, BatchSummary) and not summary.failed
    assert [(i.status, i.frames, i.output) for i in summary.items] == [
        ("done", 3, out / "a.mp4"),
        ("done", 3, out / "b.mp4"),
    ]
    again = facesr_video.enhance([*clips, tmp_path / "gone.mp4"], out_dir=out, scale=2, **PLAIN)
    assert [i.status for i in again.items] == ["skipped", "skipped", "failed"]
    assert again.failed and again.items[2].reason == "not found"
    assert again.items[0].frames == 3  # from the record


def test_unknown_options_are_type_errors(tmp_path: Path, clips: list[Path]) -> None:
    with pytest.raises(TypeError, match="strenght, wieghts"):
        facesr_video.enhance(clips[0], tmp_path / "o.mp4", strenght=0.5, wieghts="w")
    with pytest.raises(TypeError, match="out_dir"):
        facesr_video.enhance(clips, tmp_path / "o.mp4")
    with pytest.raises(TypeError, match="output= .* or out_dir="):
        facesr_video.enhance(clips[0])
    assert not (tmp_path / "o.mp4").exists()


def test_bad_values_are_facesr_errors(tmp_path: Path, clips: list[Path]) -> None:
    with pytest.raises(InputError, match="faces"):
        facesr_video.enhance(clips[0], tmp_path / "o.mp4", faces="some")
    with pytest.raises(InputError, match="unsupported scale 3"):
        facesr_video.enhance(clips[0], tmp_path / "o.mp4", 3, **PLAIN)
    with pytest.raises(OutputError, match="output exists"):
        facesr_video.enhance(clips[0], clips[1], 2, **PLAIN)


def test_import_stays_light_and_the_name_stays_the_function() -> None:
    code = (
        "import sys, facesr_video; "
        "assert not {'torch', 'av', 'numpy'} & set(sys.modules), sorted(sys.modules); "
        "import facesr_video.enhance.run; from facesr_video import enhance; "
        "assert callable(enhance) and enhance is facesr_video.enhance; "
        "assert enhance.__module__ == 'facesr_video'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_time_range_and_workers_as_keywords(tmp_path: Path) -> None:
    """start=/end= take seconds or clock strings; workers= splits one video like --workers."""
    pts = [3000 * i for i in range(30)]  # 30 frames at 30 frames/s (time base 1/90000)
    clip = write_clip(tmp_path / "long.mp4", pts)
    ranged = facesr_video.enhance(clip, tmp_path / "r.mp4", 2, start="0:00.5", end=0.8, **PLAIN)
    assert ranged.frames == 9 and read_video(tmp_path / "r.mp4").times[0] == 0
    one = facesr_video.enhance(clip, tmp_path / "one.mp4", 2, **PLAIN)
    two = facesr_video.enhance(clip, tmp_path / "two.mp4", 2, workers=2, **PLAIN)
    assert one.frames == two.frames == 30
    assert read_video(tmp_path / "one.mp4").times == read_video(tmp_path / "two.mp4").times
    with pytest.raises(InputError, match="split one video"):
        facesr_video.enhance([clip], out_dir=tmp_path / "d", workers=2, **PLAIN)
    with pytest.raises(InputError, match="not a time"):
        facesr_video.enhance(clip, tmp_path / "x.mp4", 2, start="soon", **PLAIN)
