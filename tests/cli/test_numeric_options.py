"""Numbers are refused at the command line, by flag name; help shows each one's default and range;
--version; the messages for a garbage face model, a weights folder and bad encoder settings."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest

from facesr_video import __version__
from facesr_video.cli import app, main
from tests.video.clips import write_clip

ENHANCE_BAD = [
    ("--batch-size", "0"),
    ("--batch-size", "-3"),
    ("--min-face", "nan"),
    ("--min-face", "inf"),
    ("--min-face", "-1"),
    ("--min-face", "0"),
    ("--strength", "1.5"),
    ("--strength", "nan"),
    ("--crf", "-1"),
    ("--crf", "64"),
    ("--detect-every", "0"),
    ("--threads", "-1"),
    ("--threads", "100000"),
    ("--smooth-lag", "-1"),
    ("--smooth-lag", "100000"),
]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "in.mp4", [0, 3000])


def _refused(tmp_path: Path, capsys, argv: list[str], flag: str) -> str:
    """Exit code 2, the flag named, no traceback, nothing written; returns stderr."""
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert flag in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    return err


@pytest.mark.parametrize(("flag", "value"), ENHANCE_BAD)
def test_enhance_refuses_bad_numbers(tmp_path: Path, capsys, clip: Path, flag, value) -> None:
    argv = ["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "4", flag, value]
    err = _refused(tmp_path, capsys, argv, flag)
    assert "min_face" not in err and "batch_size" not in err  # flags, not Python names


@pytest.mark.parametrize(
    ("codec", "crf", "preset", "words"),
    [
        ("libx264", "52", None, "--crf 52 is outside libx264's range 0-51"),
        ("libx265", "60", None, "--crf 60 is outside libx265's range 0-51"),
        ("libx264", None, "bogus", "--preset 'bogus' is not a libx264 preset"),
        ("libsvtav1", None, "medium", "--preset 'medium' is not a libsvtav1 preset"),
    ],
)
def test_encoder_settings_are_checked_up_front(
    tmp_path: Path, capsys, clip: Path, codec, crf, preset, words
) -> None:
    argv = ["enhance", str(clip), str(tmp_path / "o.mkv"), "-s", "2", "--faces", "none"]
    argv += ["--codec", codec]
    argv += ["--crf", crf] if crf else ["--preset", preset]
    err = _refused(tmp_path, capsys, argv, words)
    assert err.count("\n") == 1 and err.startswith("error:")


def test_svtav1_takes_crf_63(tmp_path: Path, capsys, clip: Path) -> None:
    out = tmp_path / "o.mkv"
    argv = ["-q", "enhance", str(clip), str(out), "-s", "2", "--faces", "none"]
    argv += ["--codec", "libsvtav1", "--crf", "63"]
    assert main([*argv, "--preset", "12"]) == 0 and out.is_file()


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--every", "0"),
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--min-face", "nan"),
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--min-confidence", "2"),
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--shard-size", "0"),
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--seed", "-1"),
        (["extract-priors", "IN", "--out", "S", "-s", "4"], "--max-frames", "0"),
        (["evaluate", "IN", "--out", "S", "-s", "4"], "--min-face", "inf"),
        (["train", "IN", "--out", "S", "-s", "4"], "--batch-size", "0"),
        (["train", "IN", "--out", "S", "-s", "4"], "--lr", "nan"),
        (["train", "IN", "--out", "S", "-s", "4"], "--steps", "-5"),
        (["models", "install"], "--retries", "-1"),
    ],
)
def test_other_commands_refuse_bad_numbers(
    tmp_path: Path, capsys, clip: Path, command, flag, value
) -> None:
    argv = [str(clip) if w == "IN" else str(tmp_path / "s") if w == "S" else w for w in command]
    _refused(tmp_path, capsys, [*argv, flag, value], flag)


def _commands() -> list[tuple[str, typing.Callable]]:
    found = [(c.name, c.callback) for c in app.registered_commands]
    for group in app.registered_groups:
        found += [
            (f"{group.name} {c.name}", c.callback) for c in group.typer_instance.registered_commands
        ]
    return found


def _numeric_options() -> list[tuple[str, str, object]]:
    options = []
    for command, callback in _commands():
        hints = typing.get_type_hints(callback)
        for name, parameter in inspect.signature(callback).parameters.items():
            if {int, float} & set(typing.get_args(hints[name]) or (hints[name],)):
                options.append((command, name, parameter.default))
    return options


@pytest.mark.parametrize(("command", "name", "info"), _numeric_options())
def test_numeric_options_show_a_default_and_a_range(command, name, info) -> None:
    required = info.default is ...
    assert required or info.default is not None or isinstance(info.show_default, str), name
    assert required or info.min is not None or info.max is not None, f"{command} --{name}"


def test_numeric_option_help_says_default_and_range(capsys) -> None:
    main(["enhance", "--help"])
    out = capsys.readouterr().out
    assert "[default: 8]" in out and "x>=1" in out and "0.0<=x<=1.0" in out


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"facesr-video {__version__}"


def test_garbage_face_model_says_so(tmp_path: Path, capsys, clip: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(bytes(range(256)) * 8)
    argv = ["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "4", "--face-model", str(junk)]
    err = _refused(tmp_path, capsys, argv, "not a face model file")
    assert "pickle" not in err and err.count("\n") == 1


def test_weights_folder_says_so(tmp_path: Path, capsys, clip: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    argv = ["enhance", str(clip), str(tmp_path / "o.mp4"), "-s", "4", "--weights", str(folder)]
    err = _refused(tmp_path, capsys, argv, "--weights is a folder")
    assert err.count("\n") == 1
