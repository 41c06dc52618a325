"""A full disk is one line naming the folder and exit code 2, with nothing half-written left."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from facesr_video.cli import main
from tests.video.clips import write_clip


def test_enospc_from_any_writer_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out/.o.x.partial.mp4")

    monkeypatch.setattr("facesr_video.cli.enhance.run_paths", full)
    clip = write_clip(tmp_path / "in.mp4", [0, 3000])
    code = main(["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "2"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert lines == [
        "error: no space left on the output's disk: /data/out (free some space, or write elsewhere)"
    ]


def test_other_os_errors_keep_their_traceback(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("facesr_video.cli.enhance.run_paths", broken)
    clip = write_clip(tmp_path / "in.mp4", [0, 3000])
    with pytest.raises(OSError):
        main(["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "2"])


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MB tmpfs (needs root); skipped where it cannot be mounted."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a 1 MB tmpfs here (needs root)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_enhance_onto_a_full_disk(tmp_path: Path, capsys, small_disk: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", [n * 3000 for n in range(60)], size=(320, 240))
    before = clip.read_bytes()
    args = [str(clip), str(small_disk / "o.mp4"), "-s", "2", "--faces", "none", "--crf", "0"]
    args += ["--preset", "ultrafast"]
    code = main(["-q", "enhance", *args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: no space left on the output's disk: {small_disk}")
    assert list(small_disk.iterdir()) == []  # no OUT, no partial
    assert clip.read_bytes() == before
