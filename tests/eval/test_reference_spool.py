"""evaluate's reference faces stream: found once per clip, then read back, never all in memory."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facesr_video.enhance.background import upscale_frames
from facesr_video.eval.clips import list_clips
from facesr_video.eval.evaluate import EvaluateOptions, _ClipRun
from facesr_video.eval.identity import IdentityEncoder
from facesr_video.eval.methods import MethodSpec
from facesr_video.eval.reference import ReferenceFace, ReferenceFrame, ReferenceSpool
from facesr_video.video.decode import Frame
from tests.video.clips import write_clip


def _frame(index: int, faces: int = 1) -> ReferenceFrame:
    rng = np.random.default_rng(index)
    return ReferenceFrame(
        index,
        tuple(
            ReferenceFace(
                box=(1.0, 2.0, 30.0, 40.0),
                region=(0, 0, 32, 44),
                landmarks=rng.random((68, 2), dtype=np.float32),
                descriptor=rng.random(128, dtype=np.float32),
                track=k,
            )
            for k in range(faces)
        ),
    )


def _same(a: ReferenceFrame, b: ReferenceFrame) -> bool:
    return a.index == b.index and all(
        x.box == y.box and np.array_equal(x.landmarks, y.landmarks) and x.track == y.track
        for x, y in zip(a.faces, b.faces, strict=True)
    )


def test_spool_finds_once_and_reads_back_in_order() -> None:
    spool = ReferenceSpool()
    found: list[int] = []

    def finder(index: int):
        def find() -> ReferenceFrame:
            found.append(index)
            return _frame(index, faces=index % 3)

        return find

    for index in range(10):
        assert _same(spool.get(index, finder(index)), _frame(index, faces=index % 3))
    assert spool.faces == sum(i % 3 for i in range(10))
    for frames in (range(10), (0, 4, 9)):  # two later passes, the second skipping frames
        spool.rewind()
        for index in frames:
            assert _same(spool.get(index, finder(index)), _frame(index, faces=index % 3))
    assert found == list(range(10))  # found once each
    spool.rewind()
    spool.get(5, finder(5))
    with pytest.raises(ValueError, match="out of order"):
        spool.get(2, finder(2))
    spool.close()


def _lagging(lag: int):
    """A frame stage that holds `lag` frames back, like the face path's smoother."""

    def stage(frames: Iterator[Frame]) -> Iterator[Frame]:
        held: list[Frame] = []
        for frame in upscale_frames(frames, 4, "bicubic"):
            held.append(frame)
            if len(held) > lag:
                yield held.pop(0)
        yield from held

    return stage


def _live_reference_frames() -> int:
    gc.collect()
    return sum(type(o) is ReferenceFrame for o in gc.get_objects())


def test_a_clip_run_holds_a_frame_or_two_of_references_not_the_clip(tmp_path: Path) -> None:
    # evaluate used to keep every frame's reference faces until the clip's last pass.
    clip_path = write_clip(tmp_path / "clip.mp4", [n * 3000 for n in range(40)], size=(64, 48))
    (clip,) = list_clips([clip_path])
    run = _ClipRun(clip, EvaluateOptions((clip_path,), tmp_path / "r", 4), IdentityEncoder())
    calls: list[int] = []

    def analyse(index: int, rgb: np.ndarray) -> ReferenceFrame:
        calls.append(index)
        return ReferenceFrame(index, ())

    run.analyser = analyse  # type: ignore[assignment]
    before = _live_reference_frames()
    for name in ("bicubic", "ours"):
        _, frames = run.run_pass(MethodSpec(name, lambda: _lagging(5)), lambda: None)
        assert frames == 40
        assert _live_reference_frames() - before <= 2
    assert calls == list(range(40))  # found once, in the first pass
    result = run.result([], 40, ("bicubic", "ours"))
    assert result.faces == 0
