"""The record of finished outputs in a batch's folder, so a rerun redoes only what is missing.

A file being there does not make it finished: it may be someone else's file of the same name, or
made from an older version of the input or with other options. An output counts as complete only
when this record says it was renamed into place from this input (same size and modification time)
with these options, and it still has the size recorded then. The record is rewritten whole after
each output's rename, so Ctrl-C or a crash loses at most the file in flight.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facesr_video.files import write_text_whole

RECORD_NAME = ".facesr-video-done.json"
VERSION = 1


@dataclass(frozen=True)
class Finished:
    """What the record keeps about one finished output (keyed by its file name)."""

    input: str
    input_size: int
    input_mtime_ns: int
    options: dict[str, Any]
    output_size: int
    frames: int
    faces: int


class DoneRecord:
    """`DIR/.facesr-video-done.json`: finished outputs by name. A missing or unreadable record
    is an empty one (everything is redone, which is slow but never wrong)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / RECORD_NAME
        self.entries: dict[str, Finished] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == VERSION:
                self.entries = {k: Finished(**v) for k, v in data["outputs"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.entries = {}

    def complete(self, name: str, source: Path, options: dict[str, Any]) -> Finished | None:
        """The entry for `name` when that output is complete for this input and options."""
        entry = self.entries.get(name)
        output = self.path.parent / name
        if entry is None or not output.is_file():
            return None
        stat = source.stat()
        if (entry.input_size, entry.input_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            return None
        if entry.options != options or output.stat().st_size != entry.output_size:
            return None
        return entry

    def made(self, name: str) -> bool:
        """Whether this tool wrote `name` here (complete or not): replacing it is safe."""
        return name in self.entries

    def add(
        self, name: str, source: Path, options: dict[str, Any], frames: int, faces: int
    ) -> None:
        """Record `name` as finished (call after its rename) and rewrite the record whole."""
        stat = source.stat()
        self.entries[name] = Finished(
            input=str(Path(source).resolve()),
            input_size=stat.st_size,
            input_mtime_ns=stat.st_mtime_ns,
            options=options,
            output_size=(self.path.parent / name).stat().st_size,
            frames=frames,
            faces=faces,
        )
        outputs = {key: asdict(value) for key, value in sorted(self.entries.items())}
        text = json.dumps({"version": VERSION, "outputs": outputs}, indent=1)
        write_text_whole(self.path, text + "\n")
