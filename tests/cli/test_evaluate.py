"""`facesr-video evaluate` refuses bad input with one error line and a non-zero exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.cli import main
from tests.conftest import DATA, ICT_NPZ, require

CLIP = DATA / "videos" / "grid" / "bbaf2n.mpg"


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["evaluate", *args])
    return code, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_missing_input(tmp_path: Path, capsys) -> None:
    code, err = _run(
        capsys, str(tmp_path / "nope.mp4"), "--scale", "4", "--out", str(tmp_path / "r")
    )
    assert code == 2 and "input not found" in _one_error_line(err)
    assert not (tmp_path / "r").exists()


def test_not_a_video(tmp_path: Path, capsys) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("plain text, not a video")
    code, err = _run(capsys, str(fake), "--scale", "4", "--out", str(tmp_path / "r"))
    assert code == 2 and "not a video file" in _one_error_line(err)


def test_report_folder_not_empty_without_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("someone's file")
    code, err = _run(capsys, str(require(CLIP)), "--scale", "4", "--out", str(out))
    line = _one_error_line(err)
    assert code == 2 and "not empty" in line and "--overwrite" in line
    assert (out / "keep.txt").read_text() == "someone's file"


def test_report_folder_is_a_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    out.write_text("x")
    code, err = _run(capsys, str(require(CLIP)), "--scale", "4", "--out", str(out))
    assert code == 2 and "is a file" in _one_error_line(err)


@pytest.mark.parametrize("scale", ["3", "16"])
def test_unsupported_scale(tmp_path: Path, capsys, scale: str) -> None:
    code, err = _run(capsys, str(require(CLIP)), "--scale", scale, "--out", str(tmp_path / "r"))
    assert code == 2 and "x2, x4 and x8" in _one_error_line(err)


def test_missing_weights(tmp_path: Path, capsys) -> None:
    code, err = _run(
        capsys,
        str(require(CLIP)),
        "--scale",
        "4",
        "--out",
        str(tmp_path / "r"),
        "--weights",
        str(tmp_path / "absent.safetensors"),
        "--face-model",
        str(require(ICT_NPZ)),
        "--device",
        "cpu",
    )
    assert code == 2 and "weights not found" in _one_error_line(err)
    assert not (tmp_path / "r").exists()


def test_help_lists_the_options(capsys) -> None:
    assert main(["evaluate", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--scale", "--out", "--weights-no-priors", "--no-smoothing-too", "--max-frames"):
        assert option in text
