"""Help that cannot go stale: every command's --help, rendered as a user sees it, shows the
defaults the code uses (the options dataclasses') and says about the shipped weights what their
metadata says (their window of frames, the scales that ship)."""

from __future__ import annotations

import inspect
import os
import re
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
import torch
from typer.models import OptionInfo
from typer.testing import CliRunner

from facesr_video.cli import app
from facesr_video.dataset.extract_options import ExtractOptions
from facesr_video.enhance.face_stage import FaceOptions
from facesr_video.enhance.prepare import FACE_SCALES, WEIGHTS_DIR, set_torch_threads
from facesr_video.enhance.run import EnhanceOptions
from facesr_video.eval.evaluate import EvaluateOptions
from facesr_video.sr.weights import read_info
from facesr_video.training.config import TrainConfig, TrainingDiverged

WIDE = {"COLUMNS": "200"}  # one option's text on few lines, none cut
# A flag in the option column (a wrapped description line may also start with a flag, far right)
OPTION_LINE = re.compile(r"^│\s{1,6}(?:\*\s+)?(--[a-z0-9-]+)")

# CLI parameter -> (options dataclass field, whether the flag says the opposite of the field)
RENAMED = {
    "train": {"workers": ("num_workers", False), "ema": ("ema_decay", False)},
    "enhance": {"no_smoothing": ("smoothing", True)},
    "evaluate": {"skip_one_frame": ("one_frame_too", True)},
}
DATACLASSES: dict[str, tuple[type, ...]] = {
    "enhance": (EnhanceOptions, FaceOptions),
    "evaluate": (EvaluateOptions,),
    "extract-priors": (ExtractOptions,),
    "train": (TrainConfig,),
}


def _commands() -> dict[str, Callable]:
    found = {c.name: c.callback for c in app.registered_commands}
    for group in app.registered_groups:
        for c in group.typer_instance.registered_commands:
            found[f"{group.name} {c.name}"] = c.callback
    return found


def _help(monkeypatch: pytest.MonkeyPatch, *words: str) -> str:
    monkeypatch.setenv("COLUMNS", WIDE["COLUMNS"])
    result = CliRunner().invoke(app, [*words, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def _blocks(text: str) -> dict[str, str]:
    """Option flag -> its row(s) of the rendered help, joined into one line."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = OPTION_LINE.match(line)
        if match:
            current = blocks.setdefault(match.group(1), [])
        elif not line.startswith("│"):
            current = None
        if current is not None:
            current.append(line.strip("│ "))
    return {flag: " ".join(" ".join(rows).split()) for flag, rows in blocks.items()}


def _options(callback: Callable) -> list[tuple[str, str, OptionInfo]]:
    """(parameter name, first flag, OptionInfo) of a command's options."""
    hints = typing.get_type_hints(callback)
    found = []
    for name, parameter in inspect.signature(callback).parameters.items():
        info = parameter.default
        if isinstance(info, OptionInfo) and name in hints:
            flags = [d for d in info.param_decls if d.startswith("--")]
            flag = flags[0].split("/")[0] if flags else "--" + name.replace("_", "-")
            found.append((name, flag, info))
    return found


def _dataclass_default(command: str, name: str) -> tuple[bool, object]:
    """(found, the default) of the options dataclass field behind a CLI parameter."""
    field_name, negated = RENAMED.get(command, {}).get(name, (name, False))
    for cls in DATACLASSES.get(command, ()):
        for f in fields(cls):
            if f.name == field_name and f.default is not MISSING:
                return True, (not f.default) if negated else f.default
    return False, None


def _shown(value: object) -> str:
    """A default as typer shows it."""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_help_shows_the_defaults_the_code_uses(monkeypatch, command: str) -> None:
    blocks = _blocks(_help(monkeypatch, *command.split()))
    checked = 0
    for name, flag, info in _options(_commands()[command]):
        assert flag in blocks, f"{command} {flag} missing from its help"
        found, default = _dataclass_default(command, name)
        if found:
            cli = info.default
            if isinstance(default, tuple) and isinstance(cli, str):
                default = _shown(default)
            assert cli == default or (cli in (None, []) and default in (None, ())), (
                f"{command} {flag}: the command's default {cli!r}, the code's {default!r}"
            )
            checked += 1
        if info.default in (None, ..., []) or isinstance(info.default, bool):
            continue
        if isinstance(info.show_default, str):
            assert f"[default: ({info.show_default})]" in blocks[flag], flag
        elif info.show_default is not False:
            assert f"[default: {_shown(info.default)}]" in blocks[flag], (flag, blocks[flag])
    assert checked or command not in DATACLASSES


def _shipped() -> dict[int, Path]:
    return {s: WEIGHTS_DIR / f"sam-light-x{s}.safetensors" for s in FACE_SCALES}


def test_every_scale_ships_its_weights_as_the_help_says(monkeypatch) -> None:
    for scale, path in _shipped().items():
        assert path.is_file() and read_info(path).config.scale == scale, path
    words = ", ".join(f"x{s}" for s in FACE_SCALES[:-1]) + f" or x{FACE_SCALES[-1]}"
    assert words in " ".join(_help(monkeypatch).split())
    scale = _blocks(_help(monkeypatch, "enhance"))["--scale"]
    assert "each has its shipped weights" in scale and "only where the x2 weights are missing" in (
        scale
    )


@pytest.mark.parametrize("command", ["enhance", "evaluate"])
def test_frames_help_names_the_shipped_weights_window(monkeypatch, command: str) -> None:
    frames = _blocks(_help(monkeypatch, command))["--frames"]
    said = re.search(r"\((\d+) for the shipped weights\)", frames)
    assert said, frames
    windows = {read_info(path).config.frames for path in _shipped().values()}
    assert windows == {int(said.group(1))}


def test_threads_help_says_what_0_does(monkeypatch) -> None:
    threads = _blocks(_help(monkeypatch, "enhance"))["--threads"]
    assert "0: every core but one on CPU" in threads
    before = torch.get_num_threads()
    try:
        set_torch_threads(0, torch.device("cpu"))
        assert torch.get_num_threads() == max(1, (os.cpu_count() or 2) - 1)
    finally:
        torch.set_num_threads(before)


def test_train_help_names_its_exit_codes(monkeypatch) -> None:
    text = " ".join(_help(monkeypatch, "train").split())
    assert f"{TrainingDiverged.exit_code} the loss became NaN or infinite" in text
    assert "0 done (also when --time-limit stopped it)" in text
