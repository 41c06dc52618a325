"""The work folder beside OUT (`OUT.parts/`): segment pieces and the records of finished ones.

It holds `plan.json` (what the pieces are made from: the input file, the options that change
pixels, the cuts) and per segment a piece, its timestamps and a record. A rerun with the same
plan reuses every recorded segment; a different plan (other input, options or cuts) starts
afresh. The folder goes once OUT is written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from facesr_video.enhance.run import EnhanceOptions
from facesr_video.errors import OutputError
from facesr_video.files import write_text_whole
from facesr_video.scale.plan import Segment
from facesr_video.video.join import Piece

PLAN = "plan.json"


def fingerprint(options: EnhanceOptions, segments: list[Segment]) -> dict[str, object]:
    """What a piece depends on: the input file as it is now, every option that changes its
    pixels or timing, and the cuts; not where it runs (device, threads) or what is printed."""
    source = Path(options.input).resolve()
    stat = source.stat()
    faces = options.faces
    if faces is not None:
        faces = replace(faces, device="", threads=0, debug_overlay=None)
    pixels = (options.scale, options.background, options.codec, options.crf, options.preset)
    return {
        "input": str(source),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "options": repr((pixels, faces, options.span, options.warmup)),
        "segments": [[s.first, s.end, s.span.feed_pts, s.span.stop_pts] for s in segments],
    }


@dataclass(frozen=True)
class WorkFolder:
    path: Path

    @classmethod
    def beside(cls, output: Path) -> WorkFolder:
        output = Path(output)
        return cls(output.parent / f"{output.name}.parts")

    def prepare(self, plan: dict[str, object]) -> bool:
        """Make the folder ready for `plan`; True when it already held this plan's work."""
        plan_file = self.path / PLAN
        if self.path.exists():
            if not self.path.is_dir() or not (plan_file.is_file() or not any(self.path.iterdir())):
                raise OutputError(
                    f"{self.path} exists and is not a work folder of this tool",
                    "move it away; segments are written there",
                )
            if plan_file.is_file() and _read(plan_file) == plan:
                return True
            shutil.rmtree(self.path)
        self.path.mkdir()
        write_text_whole(plan_file, json.dumps(plan, indent=1))
        return False

    def piece(self, number: int) -> Piece:
        return Piece(self.path / f"seg-{number:04d}.mp4", self.path / f"seg-{number:04d}.times")

    def record(self, number: int) -> Path:
        return self.path / f"seg-{number:04d}.json"

    def finished(self, number: int) -> bool:
        piece = self.piece(number)
        return all(p.is_file() for p in (self.record(number), piece.video, piece.times))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
