"""`facesr-video extract-priors` through the CLI entry point: summary line, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.dataset.store import MANIFEST
from tests.conftest import DATA, ICT_NPZ, require

PORTRAIT = DATA / "faces" / "congress" / "A000014.jpg"


def test_missing_input_is_one_line_and_nonzero(tmp_path: Path, capsys) -> None:
    out = tmp_path / "store"
    code = main(["extract-priors", str(tmp_path / "gone.mp4"), "--out", str(out), "--scale", "4"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.count("\n") == 0 and err.startswith("error: input not found")
    assert not out.exists()


def test_run_prints_a_summary_and_a_foreign_store_is_refused(tmp_path: Path, capsys) -> None:
    require(ICT_NPZ)
    folder = tmp_path / "faces"
    folder.mkdir()
    shutil.copy(require(PORTRAIT), folder / "one.jpg")
    out = tmp_path / "store"
    args = ["extract-priors", str(folder), "--out", str(out), "--scale", "4"]
    args += ["--face-model", str(ICT_NPZ), "--degradation", "bicubic"]
    assert main(["--quiet", *args]) == 0
    assert capsys.readouterr().out == ""
    assert main(args) == 0
    out_text = capsys.readouterr().out
    assert "1 inputs (1 already complete)" in out_text and "holds 1 samples" in out_text

    manifest = json.loads((out / MANIFEST).read_text())
    manifest["version"] = 99
    (out / MANIFEST).write_text(json.dumps(manifest))
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.count("\n") == 0 and err.startswith("error:")


@pytest.mark.parametrize("scale", ["3", "16"])
def test_unsupported_scale_is_refused(tmp_path: Path, capsys, scale: str) -> None:
    code = main(["extract-priors", str(tmp_path), "--out", str(tmp_path / "s"), "--scale", scale])
    assert code != 0 and "--scale must be 4 or 8" in capsys.readouterr().err
