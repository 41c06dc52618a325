"""Checks on OUT before any work starts: container from the extension, folder, overwrite, != IN.

mp4/mov keep every timestamp exactly (their time base follows the input's); Matroska/WebM store
milliseconds, so there each frame's time is the input's rounded to the nearest millisecond.
"""

from __future__ import annotations

import os
from pathlib import Path

from facesr_video.errors import OutputError

# OUT's extension -> FFmpeg muxer name.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


def muxer_for(path: Path) -> str:
    """The FFmpeg muxer for OUT's extension; OutputError for anything else."""
    muxer = CONTAINERS.get(path.suffix.lower())
    if muxer is None:
        choices = ", ".join(sorted(CONTAINERS))
        raise OutputError(
            f"unsupported output extension {path.suffix or '(none)'!r}: {path}",
            f"use one of {choices}",
        )
    return muxer


def check_output(input_path: Path, output_path: Path, overwrite: bool) -> str:
    """Refuse an OUT that cannot or must not be written; return its muxer name."""
    muxer = muxer_for(output_path)
    folder = output_path.parent
    if not folder.exists():
        raise OutputError(f"output folder does not exist: {folder}", "create it first")
    if not folder.is_dir():
        raise OutputError(f"output folder is not a folder: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder is not writable: {folder}", "check its permissions")
    if _same_file(input_path, output_path):
        raise OutputError(
            f"output is the input file: {output_path}", "choose another name; IN is never touched"
        )
    if output_path.is_dir():
        raise OutputError(f"output is a folder: {output_path}", "give a file name such as out.mp4")
    if output_path.exists() and not overwrite:
        raise OutputError(f"output exists: {output_path}", "pass --overwrite to replace it")
    return muxer


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
