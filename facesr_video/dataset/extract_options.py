"""What `extract-priors` is told (`ExtractOptions`) and what it reports (`ExtractSummary`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.extract_log import SkipRecord
from facesr_video.dataset.store import SHARD_BYTES
from facesr_video.errors import InputError, OutputError
from facesr_video.files import NamedPath, check_output_folder

SCALES = (4, 8)
SHEET_FILE = "contact_sheet.png"
OVERLAY_DIR = "overlays"
STAGES = (
    "read",  # decode or read, crop to a multiple of S, degrade
    "analyse",  # detect + landmarks + track + fit + smooth
    "crop",  # aligned HR and LR crops
    "render",  # prior maps
    "write",  # store appends and shard writes
)


@dataclass(frozen=True)
class ExtractOptions:
    """Everything `extract-priors` needs (the CLI fills it in)."""

    inputs: tuple[Path, ...]
    out: Path
    scale: int
    face_model: Path | None = None
    every: int = 1  # take every n-th video frame
    max_frames: int | None = None  # per video, after `every`
    degradation: str = "realistic"
    min_face: float = 20.0  # LR pixels
    detect_every: int = 1
    min_confidence: float = 0.3  # faces whose smoothed fit is trusted less are skipped
    overlay: bool = False
    seed: int = 0
    shard_size: int = 256  # samples per shard at most
    shard_bytes: int = SHARD_BYTES  # bytes per shard at most: what is held before writing one
    render_batch: int = 16
    neighbours: int = 0  # store frames t-K..t+K (K = this) with each video sample, registered
    sample_every: int = 1  # store every N-th analysed frame's faces (neighbours use all frames)
    device: str = "auto"
    sheet_rows: int = 12
    quiet: bool = False


@dataclass(frozen=True)
class ExtractSummary:
    """What a run did, for the one-line summary and for tests."""

    store: Path
    inputs: int
    already_done: int  # inputs skipped because a previous run completed them
    frames: int  # frames (images or video frames) analysed
    faces_stored: int  # new samples written by this run
    faces_present: int  # faces found whose sample was already in the store
    samples_total: int  # samples in the store after the run
    skipped: tuple[SkipRecord, ...]
    seconds: float
    stage_seconds: dict[str, float]  # STAGES -> wall-clock seconds summed over the run

    @property
    def faces_per_second(self) -> float:
        return self.faces_stored / self.seconds if self.seconds > 0 else 0.0

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.skipped:
            counts[record.reason] = counts.get(record.reason, 0) + record.count
        return counts

    def one_line(self) -> str:
        skipped = ", ".join(f"{r} {n}" for r, n in sorted(self.skipped_by_reason().items()))
        done = f" ({self.already_done} already complete)" if self.already_done else ""
        present = f" ({self.faces_present} already stored)" if self.faces_present else ""
        return (
            f"{self.inputs} inputs{done}, {self.frames} frames, {self.faces_stored} faces "
            f"stored{present}, skipped: {skipped or 'none'}; {self.seconds:.1f} s, "
            f"{self.faces_per_second:.1f} faces/s; store {self.store} holds "
            f"{self.samples_total} samples"
        )


def check_options(options: ExtractOptions) -> None:
    """Refuse options that cannot work, before anything is read or written."""
    if options.scale not in SCALES:
        raise InputError(f"--scale must be 4 or 8, got {options.scale}")
    if options.every < 1:
        raise InputError(f"--every must be at least 1, got {options.every}")
    if options.neighbours < 0 or options.sample_every < 1:
        raise InputError("--neighbours must be >= 0 and --sample-every >= 1")
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {options.max_frames}")
    if options.degradation not in DEGRADATIONS:
        raise InputError(
            f"unknown degradation {options.degradation!r}",
            f"use one of {', '.join(sorted(DEGRADATIONS))}",
        )
    if options.out.exists() and not options.out.is_dir():
        raise OutputError(f"--out is a file, not a folder: {options.out}")
    check_output_folder(
        NamedPath("--out", options.out), [NamedPath("input", p) for p in options.inputs]
    )
