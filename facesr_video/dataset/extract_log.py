"""extract-priors' own records in the store: which sources are complete, and what was skipped.

The store's manifest says which samples exist; it cannot say that a source is finished (a video
whose last frames had no face looks the same as one cut short). `extract.json` lists the sources
whose samples are all committed, with the settings that decide which faces are taken (frame
sampling, face size, degradation...), so a rerun with the same settings skips them without
decoding or fitting anything;
a source cut short is analysed again and its stored samples are skipped by key.
`skipped.json` lists, per source, what was left out and why (no face, unreadable, unreliable fit).
Both files are replaced atomically, and only after the samples they speak of are committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from facesr_video.files import write_whole

DONE_FILE = "extract.json"
SKIPPED_FILE = "skipped.json"


@dataclass(frozen=True)
class SkipRecord:
    """Faces or inputs left out of the store: `count` items of `source` for `reason`."""

    source: str
    reason: str
    count: int = 1


def _write_json(path: Path, data: object) -> None:
    write_whole(path, lambda partial: partial.write_text(json.dumps(data, indent=1)))


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # absent or damaged: fall back to the manifest's keys


class ExtractLog:
    """Completed sources and skip records of a store, loaded at start and saved after flushes."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        done = _read_json(self.store / DONE_FILE)
        self.done: dict[str, dict[str, object]] = {}
        if isinstance(done, dict) and isinstance(done.get("done"), dict):
            self.done = {str(k): v for k, v in done["done"].items() if isinstance(v, dict)}
        self.skipped: dict[str, list[SkipRecord]] = {}
        skipped = _read_json(self.store / SKIPPED_FILE)
        if isinstance(skipped, list):
            for entry in skipped:
                if isinstance(entry, dict) and {"source", "reason", "count"} <= entry.keys():
                    record = SkipRecord(str(entry["source"]), str(entry["reason"]), entry["count"])
                    self.skipped.setdefault(record.source, []).append(record)

    def is_done(self, source: str, settings: str) -> bool:
        """Complete under the same settings (another --max-frames, say, analyses it again)."""
        entry = self.done.get(source)
        return entry is not None and entry.get("settings") == settings

    def set_skipped(self, source: str, records: Iterable[SkipRecord]) -> None:
        """Replace a source's skip records with this run's."""
        records = list(records)
        if records:
            self.skipped[source] = records
        else:
            self.skipped.pop(source, None)

    def mark_done(self, sources: Iterable[str], samples: dict[str, int], settings: str) -> None:
        for source in sources:
            previous = self.done.get(source, {}).get("samples", 0)
            count = samples.get(source, 0) + (previous if isinstance(previous, int) else 0)
            self.done[source] = {"samples": count, "settings": settings}

    def save(self) -> None:
        _write_json(self.store / DONE_FILE, {"done": dict(sorted(self.done.items()))})
        records = [asdict(r) for source in sorted(self.skipped) for r in self.skipped[source]]
        _write_json(self.store / SKIPPED_FILE, records)
