"""`evaluate --jobs 2`: two clips scored in two processes give the report one process gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesr_video.cli import main
from tests.conftest import DATA, ICT_NPZ, require

CLIPS = [DATA / "videos" / "grid" / "bbaf2n.mpg", DATA / "videos" / "grid" / "brbk7n.mpg"]
TIMED = {"fps"}  # speeds depend on what else runs; every other figure must match


def _report(tmp_path: Path, jobs: int) -> tuple[dict, Path]:
    out = tmp_path / f"jobs{jobs}"
    args = ["-q", "evaluate", *map(str, map(require, CLIPS)), "--scale", "4", "--out", str(out)]
    args += ["--face-model", str(require(ICT_NPZ)), "--device", "cpu", "--max-frames", "3"]
    args += ["--samples", "1", "--smooth-lag", "1", "--jobs", str(jobs)]
    assert main(args) == 0
    return json.loads((out / "report.json").read_text()), out


def _close(a: object, b: object, where: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            if key not in TIMED:
                _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6), where
    else:
        assert a == b, where


@pytest.mark.slow
def test_two_processes_give_the_one_process_report(tmp_path: Path) -> None:
    one, one_dir = _report(tmp_path, 1)
    two, two_dir = _report(tmp_path, 2)
    assert [c["name"] for c in two["clips"]] == ["bbaf2n.mpg", "brbk7n.mpg"]  # the order given
    assert all(c["faces"] == 3 for c in two["clips"])
    _close(one["clips"], two["clips"], "clips")
    _close(one["means"], two["means"], "means")
    assert two["meta"].keys() == one["meta"].keys() and "--jobs 2" in two["meta"]["command"]
    pictures = sorted(p.name for p in (one_dir / "pictures").iterdir())
    assert pictures and pictures == sorted(p.name for p in (two_dir / "pictures").iterdir())
    assert (two_dir / "report.md").is_file()
