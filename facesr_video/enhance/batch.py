"""`enhance IN... --out-dir DIR`: many inputs, one at a time, each written whole, resumable.

One input failing (a broken file, a missing path) is reported in one line and the others go on;
the summary says which. Outputs recorded as finished (resume.py) are skipped on a rerun, so a
batch stopped by Ctrl-C, a crash or a reboot continues where it was, losing at most the file in
flight (whose temporary file the writer removes). Segments of one video and clusters are
the scale-out's job; this is the plain loop that it and the CLI build on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from facesr_video.enhance.options import output_fingerprint
from facesr_video.enhance.resume import DoneRecord
from facesr_video.enhance.run import EnhanceOptions, EnhanceSummary, check_encoder_options
from facesr_video.enhance.sources import Source, check_names, expand
from facesr_video.enhance.still import check_scale
from facesr_video.errors import FacesrError, OutputError, disk_full
from facesr_video.files import NamedPath, check_output_folder
from facesr_video.progress import Progress, make_progress, stderr_console

RunFile = Callable[[EnhanceOptions, Progress | None], EnhanceSummary]
STATUSES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class BatchItem:
    """One input's outcome. `summary` is the run's (None when skipped or failed); frames and
    faces come from it or, for a skipped output, from the record of when it was made."""

    input: Path
    output: Path
    status: str  # one of STATUSES
    reason: str = ""  # why it failed
    frames: int = 0
    faces: int = 0
    summary: EnhanceSummary | None = None

    @property
    def fps(self) -> float:
        return self.summary.fps if self.summary is not None else 0.0

    def describe(self) -> str:
        """The status as the summary table shows it."""
        if self.status == "skipped":
            return "skipped (already complete)"
        return f"failed: {self.reason}" if self.status == "failed" else self.status


@dataclass(frozen=True)
class BatchSummary:
    """Every input's outcome, in input order."""

    out_dir: Path
    items: tuple[BatchItem, ...]

    def count(self, status: str) -> int:
        return sum(item.status == status for item in self.items)

    @property
    def failed(self) -> bool:
        """Whether any input failed (the command then exits non-zero)."""
        return self.count("failed") > 0


def enhance_batch(
    arguments: Sequence[Path],
    out_dir: Path,
    template: EnhanceOptions,
    run_file: RunFile,
    recursive: bool = False,
) -> BatchSummary:
    """Enhance every input named by `arguments` (files, folders, globs) into `out_dir` with the
    options of `template` (its input and output are replaced per file); `run_file` does one."""
    out_dir = Path(out_dir)
    check_batch(arguments, out_dir, template)
    sources = expand(arguments, recursive)
    check_names(sources, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = DoneRecord(out_dir)
    fingerprint = output_fingerprint(template)
    items: dict[int, BatchItem] = {}
    todo: list[tuple[int, Source]] = []
    for index, source in enumerate(sources):
        output = out_dir / source.name
        if source.missing:
            items[index] = BatchItem(source.input, output, "failed", source.missing)
            _say_failed(items[index])
        elif (entry := _complete(record, source, fingerprint, template)) is not None:
            items[index] = BatchItem(source.input, output, "skipped", "", entry[0], entry[1])
        else:
            todo.append((index, source))
    skipped = sum(item.status == "skipped" for item in items.values())
    if skipped and not template.quiet:
        stderr_console.print(
            f"{skipped} of {len(sources)} outputs already complete in {out_dir}: skipped "
            "(--overwrite redoes them)",
            markup=False,
            highlight=False,
        )
    with make_progress("files", template.quiet) as progress:
        files = progress.add_task("files", total=len(todo))
        for index, source in todo:
            progress.update(files, description=f"files: {source.input.name}")
            items[index] = _one(source, out_dir, template, record, fingerprint, run_file, progress)
            progress.advance(files)
    summary = BatchSummary(out_dir, tuple(items[i] for i in range(len(sources))))
    if not template.quiet:
        print_table(summary)
    return summary


def check_batch(arguments: Sequence[Path], out_dir: Path, template: EnhanceOptions) -> None:
    """What is refused before any input is read: options that name one file, a bad --out-dir,
    and option values every input would fail on."""
    face = template.faces
    for name, value in (
        ("--report", template.report),
        ("--compare", template.compare),
        ("--debug-overlay", face.debug_overlay if face is not None else None),
    ):
        if value is not None:
            raise OutputError(f"{name} names one file", "use it with the single form: IN OUT")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out-dir is not a folder: {out_dir}", "give a folder")
    folders = [NamedPath("input", Path(a)) for a in arguments if Path(a).is_dir()]
    check_output_folder(NamedPath("--out-dir", out_dir), folders)
    check_scale(template.scale, template.background)
    check_encoder_options(template.codec, template.crf, template.preset)


def _complete(
    record: DoneRecord, source: Source, fingerprint: dict, template: EnhanceOptions
) -> tuple[int, int] | None:
    """(frames, faces) of a complete output that a rerun skips; None: (re)do it."""
    if template.overwrite:
        return None
    entry = record.complete(source.name, source.input, fingerprint)
    return None if entry is None else (entry.frames, entry.faces)


def _one(
    source: Source,
    out_dir: Path,
    template: EnhanceOptions,
    record: DoneRecord,
    fingerprint: dict,
    run_file: RunFile,
    progress: Progress,
) -> BatchItem:
    """Run one input; a failure becomes a failed item (said in one line), not an exception.
    An output this tool made before (stale: other input or options) is replaced."""
    output = out_dir / source.name
    overwrite = template.overwrite or record.made(source.name)
    options = replace(template, input=source.input, output=output, overwrite=overwrite, quiet=True)
    try:
        summary = run_file(options, progress)
    except FacesrError as error:
        item = BatchItem(source.input, output, "failed", error.one_line())
    except OSError as error:
        full = disk_full(error)
        if full is not None:
            raise full from error  # every later input would fail the same way
        item = BatchItem(source.input, output, "failed", f"{error.strerror}: {error.filename}")
    except Exception as error:  # a bug on one input must not cost the night's other inputs
        reason = f"unexpected {type(error).__name__}: {error} (run it alone with --verbose)"
        item = BatchItem(source.input, output, "failed", reason)
    else:
        record.add(source.name, source.input, fingerprint, summary.frames, summary.faces_enhanced)
        return BatchItem(
            source.input, output, "done", "", summary.frames, summary.faces_enhanced, summary
        )
    _say_failed(item)
    return item


def _say_failed(item: BatchItem) -> None:
    """One line on stderr for a failed input (also under --quiet: it is an error)."""
    stderr_console.print(
        f"error: {item.input}: {item.reason}", markup=False, highlight=False, soft_wrap=True
    )


def print_table(summary: BatchSummary) -> None:
    """The summary table on stderr: file, frames, faces, frames/s, status; then the totals."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"enhance -> {summary.out_dir}", title_justify="left")
    for column in ("file", "frames", "faces", "frames/s", "status"):
        table.add_column(column, justify="left" if column in ("file", "status") else "right")
    for item in summary.items:
        fps = f"{item.fps:.1f}" if item.summary is not None else "-"
        counts = ("-", "-") if item.status == "failed" else (str(item.frames), str(item.faces))
        table.add_row(Text(str(item.input)), *counts, fps, Text(item.describe()))
    stderr_console.print(table)
    totals = ", ".join(f"{summary.count(s)} {s}" for s in STATUSES)
    stderr_console.print(totals, markup=False, highlight=False)
