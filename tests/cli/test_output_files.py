"""Every file enhance writes (OUT, --report, --debug-overlay) is checked up front like OUT, and
each one appears whole, with the mode the user's umask gives."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from facesr_video.cli import main
from tests.conftest import ICT_NPZ, require
from tests.video.clips import write_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "in.mp4", [0, 3000, 6000])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _refused(tmp_path: Path, capsys, args: list[str], words: str) -> None:
    """Exit code 2, one error line with `words`, and not a byte changed in the folder."""
    before = _files(tmp_path)
    code = main(["enhance", *args])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], lines
    assert _files(tmp_path) == before


def _plain(clip: Path, out: Path, *more: str) -> list[str]:
    return [str(clip), str(out), "--scale", "2", "--faces", "none", "--preset", "ultrafast", *more]


def test_report_onto_the_input_is_refused(tmp_path: Path, capsys, clip: Path) -> None:
    args = _plain(clip, tmp_path / "o.mp4", "--report", str(clip))
    _refused(tmp_path, capsys, args, "--report is the input file")
    _refused(tmp_path, capsys, [*args, "--overwrite"], "--report is the input file")


def test_report_onto_a_hard_link_of_the_input_is_refused(
    tmp_path: Path, capsys, clip: Path
) -> None:
    link = tmp_path / "link.json"
    os.link(clip, link)
    args = _plain(clip, tmp_path / "o.mp4", "--report", str(link), "--overwrite")
    _refused(tmp_path, capsys, args, "--report is the input file")


def test_report_onto_the_output_is_refused(tmp_path: Path, capsys, clip: Path) -> None:
    out = tmp_path / "o.mp4"
    _refused(tmp_path, capsys, _plain(clip, out, "--report", str(out)), "--report is the output")


def test_report_onto_the_face_model_is_refused(tmp_path: Path, capsys, clip: Path) -> None:
    model = tmp_path / "model.npz"
    model.write_bytes(b"a model")
    args = [str(clip), str(tmp_path / "o.mp4"), "-s", "4", "--face-model", str(model)]
    _refused(tmp_path, capsys, [*args, "--report", str(model), "--overwrite"], "--face-model file")


def test_existing_report_needs_overwrite(tmp_path: Path, capsys, clip: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text("keep me")
    args = _plain(clip, tmp_path / "o.mp4", "--report", str(report))
    _refused(tmp_path, capsys, args, "--report exists")
    assert main(["-q", "enhance", *args, "--overwrite"]) == 0
    assert json.loads(report.read_text())["frames"] == 3


def test_report_folder_missing_is_refused_before_any_work(
    tmp_path: Path, capsys, clip: Path
) -> None:
    args = _plain(clip, tmp_path / "o.mp4", "--report", str(tmp_path / "no" / "r.json"))
    _refused(tmp_path, capsys, args, "--report folder does not exist")
    assert not (tmp_path / "no").exists()


def test_report_onto_a_device_is_refused(tmp_path: Path, capsys, clip: Path) -> None:
    args = _plain(clip, tmp_path / "o.mp4", "--report", os.devnull, "--overwrite")
    writable = os.access(Path(os.devnull).parent, os.W_OK)  # root: yes; others stop earlier
    _refused(tmp_path, capsys, args, "not a regular file" if writable else "not writable")


def test_debug_overlay_onto_the_input_is_refused(tmp_path: Path, capsys, clip: Path) -> None:
    """Checked before the face model or the network is loaded (the model here is missing)."""
    args = [str(clip), str(tmp_path / "o.mp4"), "-s", "4", "--debug-overlay", str(clip)]
    args += ["--face-model", str(tmp_path / "missing.npz"), "--overwrite"]
    _refused(tmp_path, capsys, args, "--debug-overlay is the input file")


def test_debug_overlay_and_report_on_one_file_are_refused(
    tmp_path: Path, capsys, clip: Path
) -> None:
    same = tmp_path / "x.mp4"
    args = [str(clip), str(tmp_path / "o.mp4"), "-s", "4", "--debug-overlay", str(same)]
    _refused(tmp_path, capsys, [*args, "--report", str(same)], "--report is the --debug-overlay")


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_follow_the_umask(tmp_path: Path, clip: Path, umask: int) -> None:
    out, report = tmp_path / "o.mp4", tmp_path / "r.json"
    previous = os.umask(umask)
    try:
        assert main(["-q", "enhance", *_plain(clip, out, "--report", str(report))]) == 0
    finally:
        os.umask(previous)
    for path in (out, report):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "o.mp4", "r.json"]


@pytest.mark.slow
def test_debug_overlay_follows_the_umask(tmp_path: Path) -> None:
    require(ICT_NPZ)
    sample = Path(__file__).resolve().parents[2] / "samples" / "crema_d_1001_HAP_120x90.mp4"
    overlay = tmp_path / "overlay.mp4"
    args = [str(sample), str(tmp_path / "o.mp4"), "-s", "4", "--face-model", str(ICT_NPZ)]
    previous = os.umask(0o022)
    try:
        assert main(["-q", "enhance", *args, "--debug-overlay", str(overlay)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(overlay.stat().st_mode) == 0o644


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("command", "inside"),
    [
        ("extract-priors", "frames/store"),
        ("extract-priors", "frames"),
        ("evaluate", "frames/report"),
        ("train", "frames/run"),
    ],
)
def test_an_output_folder_inside_an_input_folder_is_refused(
    tmp_path: Path, capsys, command: str, inside: str
) -> None:
    """A store, report or run written into an input folder would be read as input next time."""
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "face.png").write_bytes(b"not really a picture")
    out = tmp_path / inside
    first = {
        "extract-priors": [str(frames), "--scale", "4"],
        "evaluate": [str(frames), "--scale", "4"],
        "train": [str(frames), "--scale", "4"],
    }[command]
    before = _tree(tmp_path)
    code = main([command, *first, "--out", str(out), "--face-model", str(ICT_NPZ)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "is inside the" in lines[0] or "--out is the" in lines[0], lines
    assert _tree(tmp_path) == before and not (tmp_path / "frames" / "store").exists()
