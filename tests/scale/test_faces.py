"""The face path in segments: with a warm-up, the split run holds what one run holds.

Trackers, the smoother, fades and the stabiliser carry state from frame to frame; a segment
that started cold would treat its first frames differently from a whole run. The warm-up
frames before each cut give it that state back. Encoded losslessly here, so pixels compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.enhance.face_stage import FaceOptions
from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.scale.run import ScaleOptions, enhance_in_segments
from tests.conftest import ICT_NPZ, REPO, require
from tests.scale.clips import psnr, read_rgb, reencode
from tests.scale.test_workers import InProcess
from tests.video.clips import read_video

SAMPLE = REPO / "samples" / "crema_d_1001_HAP_120x90.mp4"


@pytest.mark.slow
def test_face_path_in_two_segments_matches_one_run_thanks_to_the_warmup(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("FACESR_FACE_MODEL", str(require(ICT_NPZ)))
    src = reencode(SAMPLE, tmp_path / "in.mp4", gop=8, frames=40)
    faces = FaceOptions(smooth_lag=3, threads=1)

    def options(out: str, warmup: int) -> EnhanceOptions:
        return EnhanceOptions(
            src, tmp_path / out, 4, crf=0, preset="ultrafast", quiet=True, faces=faces,
            warmup=warmup,
        )  # fmt: skip

    single = enhance(options("one.mp4", 0))
    warm = enhance_in_segments(options("warm.mp4", 16), ScaleOptions(workers=2))
    cold = enhance_in_segments(options("cold.mp4", 0), ScaleOptions(workers=2), InProcess())
    assert single.faces_enhanced >= 35 and warm.frames == cold.frames == 40
    one = read_rgb(tmp_path / "one.mp4")
    assert read_video(tmp_path / "warm.mp4").times == read_video(tmp_path / "one.mp4").times
    with_warmup = psnr(one, read_rgb(tmp_path / "warm.mp4"))
    without = psnr(one, read_rgb(tmp_path / "cold.mp4"))
    assert with_warmup >= 40.0
    assert with_warmup > without + 3.0  # the warm-up is what makes the segments agree
