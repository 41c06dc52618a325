"""enhance --workers: segments in worker processes, joined into what one process writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.enhance.span import TimeSpan
from facesr_video.errors import FacesrError
from facesr_video.scale.run import ScaleOptions, enhance_in_segments
from facesr_video.scale.segment import SegmentFailure, run_segment_caught
from facesr_video.scale.work import WorkFolder
from tests.scale.clips import psnr, read_rgb, write_gop_clip
from tests.video.clips import read_audio, read_video


class InProcess:
    """An engine running segments one after another in this process, failing those in `fail`
    (as a crash or a full disk would), and counting what it ran."""

    def __init__(self, fail: tuple[int, ...] = ()) -> None:
        self.fail = fail
        self.ran: list[int] = []

    def run(self, jobs):
        for job in jobs:
            self.ran.append(job.number)
            if job.number in self.fail:
                yield SegmentFailure(job.number, "facesr", "disk full (simulated)")
            else:
                yield run_segment_caught(job)


def _options(src: Path, out: Path, **kw) -> EnhanceOptions:
    return EnhanceOptions(src, out, 2, quiet=True, faces=None, **kw)


def assert_same_video(one: Path, other: Path, min_psnr: float = 40.0) -> None:
    """Same frames at the same times, the same audio packets, pixels within `min_psnr`."""
    a, b = read_video(one), read_video(other)
    assert len(a.times) == len(b.times)
    assert a.times == b.times and a.end == b.end
    audio_a, audio_b = read_audio(one), read_audio(other)
    assert [x.payloads for x in audio_a] == [y.payloads for y in audio_b]
    assert [(x.start, x.end) for x in audio_a] == [(y.start, y.end) for y in audio_b]
    assert psnr(read_rgb(one), read_rgb(other)) >= min_psnr


def test_two_worker_processes_write_what_one_process_writes(tmp_path: Path) -> None:
    # Variable frame rate, and the default encoder preset (B-frames: packets out of order).
    pts = [i * 3000 + (1500 if i % 7 == 3 else 0) for i in range(80)]
    src = write_gop_clip(tmp_path / "in.mp4", gop=10, pts=pts)
    single, split = tmp_path / "one.mp4", tmp_path / "two.mp4"
    enhance(_options(src, single))
    summary = enhance_in_segments(_options(src, split), ScaleOptions(workers=2))
    assert summary.frames == 80 and summary.audio_copied == 1
    assert_same_video(single, split)
    assert not WorkFolder.beside(split).path.exists()  # removed after the join


def test_a_time_range_in_segments_matches_one_process(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=90, gop=10)
    single, split = tmp_path / "one.mkv", tmp_path / "three.mkv"
    span = TimeSpan(0.5, 2.5)
    enhance(_options(src, single, span=span))
    engine = InProcess()
    enhance_in_segments(_options(src, split, span=span), ScaleOptions(workers=3), engine)
    assert engine.ran == [0, 1, 2]
    assert len(read_video(split).times) == 60
    assert_same_video(single, split)


def test_a_rerun_redoes_only_the_segments_that_failed(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=60, gop=10)
    out = tmp_path / "out.mp4"
    work = WorkFolder.beside(out)
    with pytest.raises(FacesrError, match="segment 1: disk full"):
        enhance_in_segments(_options(src, out), ScaleOptions(workers=3), InProcess(fail=(1,)))
    assert not out.exists()  # OUT only once every segment is done
    assert [work.finished(n) for n in range(3)] == [True, False, True]
    kept = {n: work.piece(n).video.stat().st_mtime_ns for n in (0, 2)}
    rerun = InProcess()
    summary = enhance_in_segments(_options(src, out), ScaleOptions(workers=3), rerun)
    assert rerun.ran == [1]  # the finished segments were reused, not redone
    assert summary.frames == 60
    single = tmp_path / "single.mp4"
    enhance(_options(src, single))
    assert_same_video(single, out)
    assert kept and not work.path.exists()


def test_other_options_start_the_segments_afresh(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=40, gop=10, audio_seconds=0)
    out = tmp_path / "out.mp4"
    with pytest.raises(FacesrError):
        enhance_in_segments(_options(src, out), ScaleOptions(workers=2), InProcess(fail=(1,)))
    rerun = InProcess()
    enhance_in_segments(_options(src, out, crf=30), ScaleOptions(workers=2), rerun)
    assert rerun.ran == [0, 1]


def test_cli_workers_and_its_refusals(tmp_path: Path, capsys) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=30, gop=10)
    out = tmp_path / "out.mp4"
    args = ["enhance", str(src), str(out), "-s", "2", "--faces", "none", "--workers", "2"]
    assert main(["-q", *args, "--engine", "local"]) == 0
    assert len(read_video(out).times) == 30
    assert main([*args, "--overwrite", "--engine", "spark"]) == 2
    assert "unknown --engine 'spark'" in capsys.readouterr().err
    assert main(["enhance", str(src), str(tmp_path), *args[3:]]) == 2  # a batch is not split
    assert "give IN OUT" in capsys.readouterr().err
