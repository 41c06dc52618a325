"""Ctrl-C, SIGTERM and SIGHUP: one line, exit code 128 + signal, nothing half-written left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.cli.signals import signals_as_interrupts
from tests.conftest import DATA, ICT_NPZ, REPO, require
from tests.video.clips import write_clip

SAMPLE = REPO / "samples" / "crema_d_1001_HAP_120x90.mp4"


def test_ctrl_c_in_a_command_exits_130_with_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """typer turns KeyboardInterrupt into a return value of 130; main must not drop it."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("facesr_video.cli.enhance.run_paths", interrupted)
    clip = write_clip(tmp_path / "in.mp4", [0, 3000])
    code = main(["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "2"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 130
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), lines


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_raise_keyboard_interrupt_once(signum: int, code: int) -> None:
    # A runner started under nohup (or as a background job) ignores SIGHUP, and the tool keeps
    # an ignored signal ignored; this test is about the default disposition, so it sets it.
    inherited = signal.signal(signum, signal.SIG_DFL)
    try:
        with pytest.raises(KeyboardInterrupt), signals_as_interrupts() as received:
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs at the next bytecode; this is not reached
        assert received.signum == signum and received.exit_code == code
        assert signal.getsignal(signum) == signal.SIG_DFL  # the process's handlers are put back
    finally:
        signal.signal(signum, inherited)


def test_a_second_signal_does_not_interrupt_the_cleanup() -> None:
    cleaned = False
    with pytest.raises(KeyboardInterrupt), signals_as_interrupts():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            cleaned = True
    assert cleaned


def _run_and_signal(args: list[str], wait_for: Path, pattern: str, signum: int) -> tuple:
    """Start the CLI, send `signum` once a file matching `pattern` appears in `wait_for` (the
    run is then mid-way), and return (exit code, stderr lines, seconds to exit)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "facesr_video", "-q", *args],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT; a run started here must not inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(wait_for.glob(pattern)) and process.poll() is None:
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.5)
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    return process.returncode, lines, time.monotonic() - sent


def _need_face_model() -> None:
    require(ICT_NPZ)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_enhance_signalled_mid_run_leaves_nothing(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    _need_face_model()
    src = tmp_path / "in.mp4"
    src.write_bytes(SAMPLE.read_bytes())
    out = tmp_path / "out.mp4"
    args = ["enhance", str(src), str(out), "-s", "4", "--face-model", str(ICT_NPZ)]
    args += ["--report", str(tmp_path / "r.json"), "--threads", "1"]
    returncode, lines, seconds = _run_and_signal(args, tmp_path, ".out.*.partial.mp4", signum)
    assert returncode == code, lines
    assert len(lines) == 1 and lines[0].startswith(f"error: {word}"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]  # no OUT, no partial
    assert src.read_bytes() == SAMPLE.read_bytes()
    assert seconds < 30


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_extract_priors_signalled_mid_run(tmp_path: Path, signum: int, code: int) -> None:
    _need_face_model()
    clip = require(DATA / "videos" / "grid" / "bbaf2n.mpg")  # 75 frames, faces found at x4
    store = tmp_path / "store"
    args = ["extract-priors", str(clip), "--out", str(store), "-s", "4"]
    args += ["--face-model", str(ICT_NPZ), "--degradation", "bicubic"]
    returncode, lines, _ = _run_and_signal(args, tmp_path, "store", signum)
    assert returncode == code, lines
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    leftovers = [p for p in tmp_path.rglob("*") if ".partial" in p.name or p.suffix == ".tmp"]
    assert leftovers == []


def test_ctrl_c_while_the_command_line_loads_is_one_line(monkeypatch, capsys) -> None:
    """The console script imports torch and friends (seconds); Ctrl-C then is not a traceback."""
    import importlib.abc

    from facesr_video.launch import run

    class InterruptedImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "facesr_video.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "facesr_video.cli")
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])
    monkeypatch.setattr(sys, "argv", ["facesr-video", "--version"])
    with pytest.raises(SystemExit) as exit_:
        run()
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 130
    assert len(lines) == 1 and "Ctrl-C" in lines[0], lines
