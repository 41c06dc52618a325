"""Bad input through the real entry point: exit code != 0, one error line, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest

from facesr_video.cli import main
from tests.conftest import DATA, require
from tests.video.clips import write_audio_only, write_clip


def _run(capsys, args: list[str]) -> tuple[int, list[str]]:
    code = main(["enhance", *args])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, lines


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _truncated_mp4(path: Path) -> Path:
    """Index at the end (the default): a cut file has no index and cannot be read at all."""
    full = write_clip(path.with_name("full_src.mp4"), [i * 3000 for i in range(30)])
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def _image(path: Path) -> Path:
    jpg = next(iter(sorted(require(DATA / "faces/congress").glob("*.jpg"))))
    path.write_bytes(jpg.read_bytes())
    return path


BAD_INPUTS = {
    "missing": (lambda d: d / "nope.mp4", "not found"),
    "text": (
        lambda d: (d / "notes.mp4").write_text("just text\n" * 20) and d / "notes.mp4",
        "not a video",
    ),
    "zero-bytes": (lambda d: (d / "zero.mp4").write_bytes(b"") or d / "zero.mp4", "empty"),
    "image": (lambda d: _image(d / "face.jpg"), "still image"),
    "audio-only": (lambda d: write_audio_only(d / "voice.m4a"), "no video stream"),
    "truncated": (lambda d: _truncated_mp4(d / "cut.mp4"), "not a video file"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input(tmp_path: Path, capsys, case: str) -> None:
    make, words = BAD_INPUTS[case]
    src = make(tmp_path)
    before = _files(tmp_path)
    out = tmp_path / "out.mp4"
    code, lines = _run(capsys, [str(src), str(out), "--scale", "4"])
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], lines
    assert _files(tmp_path) == before  # input untouched, nothing written


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "in.mp4", [0, 3000, 6000])


def _check_refused(tmp_path, capsys, args, words) -> None:
    before = _files(tmp_path)
    code, lines = _run(capsys, args)
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], lines
    assert _files(tmp_path) == before


def test_unsupported_scale(tmp_path: Path, capsys, clip: Path) -> None:
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(tmp_path / "o.mp4"), "--scale", "3"],
        "unsupported scale 3",
    )


def test_missing_output_folder(tmp_path: Path, capsys, clip: Path) -> None:
    out = tmp_path / "no" / "such" / "o.mp4"
    _check_refused(tmp_path, capsys, [str(clip), str(out), "--scale", "2"], "does not exist")
    assert not (tmp_path / "no").exists()


def test_output_folder_is_a_file(tmp_path: Path, capsys, clip: Path) -> None:
    out = clip / "o.mp4"
    _check_refused(tmp_path, capsys, [str(clip), str(out), "--scale", "2"], "not a folder")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_output_folder_not_writable(tmp_path: Path, capsys, clip: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _check_refused(
            tmp_path, capsys, [str(clip), str(locked / "o.mp4"), "--scale", "2"], "not writable"
        )
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_output_equal_to_input(tmp_path: Path, capsys, clip: Path) -> None:
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(clip), "--scale", "2", "--overwrite"],
        "output is the input",
    )
    same = tmp_path / "sub" / ".." / "in.mp4"
    (tmp_path / "sub").mkdir()
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(same), "--scale", "2", "--overwrite"],
        "output is the input",
    )


def test_output_hard_link_to_input(tmp_path: Path, capsys, clip: Path) -> None:
    link = tmp_path / "link.mp4"
    os.link(clip, link)
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(link), "--scale", "2", "--overwrite"],
        "output is the input",
    )


def test_output_exists_without_overwrite(tmp_path: Path, capsys, clip: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    _check_refused(tmp_path, capsys, [str(clip), str(out), "--scale", "2"], "--overwrite")


def test_unknown_extension_and_codec(tmp_path: Path, capsys, clip: Path) -> None:
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(tmp_path / "o.avi"), "--scale", "2"],
        "unsupported output extension",
    )
    _check_refused(
        tmp_path,
        capsys,
        [str(clip), str(tmp_path / "o.mp4"), "--scale", "2", "--codec", "libfoo"],
        "unknown codec",
    )


def test_overwrite_replaces(tmp_path: Path, capsys, clip: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    code = main(
        [
            "-q",
            "enhance",
            str(clip),
            str(out),
            "--scale",
            "2",
            "--faces",
            "none",
            "--overwrite",
            "--preset",
            "ultrafast",
        ]
    )
    assert code == 0
    assert capsys.readouterr().err == ""  # --quiet: no bar, no summary
    assert read_size(out) == (128, 96)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "o.mp4"]


def read_size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def test_usage_error_is_a_message_not_a_traceback(capsys) -> None:
    code = main(["enhance"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "Missing" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--frames", "4"], "must be odd"),
        (["--registration", "optical"], "use one of mesh, box"),
        (["--frames", "5"], "needs multi-frame weights"),
    ],
)
def test_bad_window_options(tmp_path: Path, capsys, monkeypatch, args, words) -> None:
    from tests.conftest import ICT_NPZ, REPO

    monkeypatch.setenv("FACESR_FACE_MODEL", str(require(ICT_NPZ)))
    src = REPO / "samples" / "crema_d_1001_HAP_120x90.mp4"
    out = tmp_path / "out.mp4"
    code, lines = _run(capsys, [str(src), str(out), "--scale", "4", *args])
    assert code == 2 and words in lines[-1] and not out.exists()
