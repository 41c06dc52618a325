"""OUT's container, from its extension (files.check_output_files checks the rest up front).

mp4/mov keep every timestamp exactly (their time base follows the input's); Matroska/WebM store
milliseconds, so there each frame's time is the input's rounded to the nearest millisecond.
"""

from __future__ import annotations

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
