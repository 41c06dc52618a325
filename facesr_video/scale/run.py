"""`enhance --workers N`: one video as segments run in parallel, then joined into OUT.

plan (cuts at keyframes) -> work folder (reuse recorded segments) -> engine (local processes or
Ray) runs the missing segments -> join (packets copied, original timestamps, audio once) -> OUT
written whole -> work folder removed. OUT holds the frames, timestamps and audio a single run
writes; the face path's pixels match it closely (see docs/scale.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from facesr_video.enhance.run import EnhanceOptions, EnhanceSummary, check_options, write_report
from facesr_video.enhance.span import frame_span, positions, stage_needs
from facesr_video.enhance.still import is_still
from facesr_video.errors import InputError
from facesr_video.progress import make_progress, stderr_console
from facesr_video.scale.devices import device_list, worker_devices
from facesr_video.scale.join import JoinedVideo, join_segments
from facesr_video.scale.local import LocalEngine
from facesr_video.scale.plan import Segment, plan_segments
from facesr_video.scale.ray_engine import RayEngine
from facesr_video.scale.segment import SegmentFailure, SegmentJob, SegmentResult, read_record
from facesr_video.scale.work import WorkFolder, fingerprint
from facesr_video.video.index import index_frames

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ScaleOptions:
    """How one video is spread over workers (the CLI's --workers, --engine... options)."""

    workers: int = 1
    engine: str = "local"  # local | ray
    ray_address: str | None = None  # None: $RAY_ADDRESS, else a local Ray
    gpus_per_worker: float = 0.0  # Ray: GPUs reserved per task
    segments: int | None = None  # None: one per worker

    @property
    def parallel(self) -> bool:
        """Whether the run goes through segments (several workers, or Ray asked for)."""
        return self.workers > 1 or self.engine != "local"


class Engine(Protocol):
    def run(self, jobs: list[SegmentJob]) -> Iterator[SegmentResult | SegmentFailure]: ...


def make_engine(scale: ScaleOptions, device: str) -> Engine:
    if scale.engine not in ENGINES:
        raise InputError(f"unknown --engine {scale.engine!r}", f"use one of {', '.join(ENGINES)}")
    if scale.engine == "ray":
        return RayEngine(scale.workers, scale.ray_address, scale.gpus_per_worker)
    devices = device_list(device)
    spread = tuple(worker_devices(device, scale.workers)) if len(devices) > 1 else ()
    return LocalEngine(scale.workers, spread)


def run_parallel(
    paths: Sequence[Path], out_dir: Path | None, template: EnhanceOptions, scale: ScaleOptions
) -> EnhanceSummary:
    """The command line's `IN OUT --workers N`: one video split over workers."""
    paths = [Path(p) for p in paths]
    if out_dir is not None or len(paths) != 2 or paths[-1].is_dir() or is_still(paths[0]):
        raise InputError(
            "--workers and --engine split one video: give IN OUT",
            "for many files or images, leave them out (files run one after another)",
        )
    return enhance_in_segments(replace(template, input=paths[0], output=paths[1]), scale)


def enhance_in_segments(
    options: EnhanceOptions, scale: ScaleOptions, engine: Engine | None = None
) -> EnhanceSummary:
    """Enhance IN into OUT with segments on `scale.workers` workers; `engine` defaults to the
    one `scale.engine` names."""
    check_options(options)
    if options.faces is not None and options.faces.debug_overlay is not None:
        raise InputError("--debug-overlay is written by a single process", "use --workers 1")
    if options.compare is not None:
        raise InputError("--compare is written by a single process", "use --workers 1")
    device = options.faces.device if options.faces is not None else "cpu"
    engine = engine or make_engine(scale, device)
    started = time.perf_counter()
    index = index_frames(options.input)
    first, end = positions(index, options.span) if options.span else (0, len(index))
    needs = stage_needs(options.faces, options.scale, options.warmup)
    segments = plan_segments(index, first, end, scale.segments or scale.workers, needs)
    work = WorkFolder.beside(Path(options.output))
    work.prepare(fingerprint(options, segments))
    done = [s.number for s in segments if work.finished(s.number)]
    results = {number: read_record(work.record(number)) for number in done}
    jobs = [_job(options, scale, work, s) for s in segments if s.number not in results]
    results.update(_run_jobs(engine, jobs, results, end - first, options.quiet))
    whole = frame_span(index, first, end, needs, shift=options.span is not None)
    pieces = [work.piece(s.number) for s in segments]
    joined = join_segments(pieces, work.path, options, index, whole)
    work.remove()
    summary = _summary(options, joined, list(results.values()), started)
    _say(options, summary, joined, results)
    return summary


def _job(options: EnhanceOptions, scale: ScaleOptions, work: WorkFolder, segment: Segment):
    """A segment's job: quiet, nothing but its piece written, CPU threads shared out."""
    faces = options.faces
    if faces is not None and faces.threads == 0:
        share = max(1, (os.cpu_count() or 1) // max(1, scale.workers))
        faces = replace(faces, threads=share)
    worker_options = replace(options, quiet=True, report=None, faces=faces)
    return SegmentJob(
        worker_options,
        segment.number,
        segment.span,
        work.piece(segment.number),
        work.record(segment.number),
    )


def _run_jobs(
    engine: Engine, jobs: list[SegmentJob], done: dict[int, SegmentResult], total: int, quiet: bool
) -> dict[int, SegmentResult]:
    """Run the jobs, with a progress bar over all frames; every job runs to its end (so it is
    recorded) before the first failure is raised."""
    results: dict[int, SegmentResult] = {}
    failures: list[SegmentFailure] = []
    with make_progress("frames", quiet) as progress:
        task = progress.add_task("enhance (segments)", total=total)
        progress.advance(task, sum(r.frames for r in done.values()))
        for outcome in engine.run(jobs):
            if isinstance(outcome, SegmentFailure):
                failures.append(outcome)
                continue
            results[outcome.number] = outcome
            progress.advance(task, outcome.frames)
    if failures:
        raise min(failures, key=lambda f: f.number).error()
    return results


def _summary(
    options: EnhanceOptions,
    joined: JoinedVideo,
    results: list[SegmentResult],
    started: float,
) -> EnhanceSummary:
    plans = joined.audio_plans
    return EnhanceSummary(
        frames=joined.frames,
        frames_lost=0,
        duration=joined.duration,
        seconds=time.perf_counter() - started,
        audio_copied=sum(p.action == "copy" for p in plans),
        audio_transcoded=sum(p.action == "transcode" for p in plans),
        output=Path(options.output),
        faces_enhanced=sum(r.faces_enhanced for r in results),
        tracks=sum(r.tracks for r in results),
        audio_repairs=joined.audio_repairs,
    )


def _say(
    options: EnhanceOptions,
    summary: EnhanceSummary,
    joined: JoinedVideo,
    results: dict[int, SegmentResult],
) -> None:
    """--report, and the lines a single run prints, with how the segments went."""
    if options.report is not None:
        write_report(options.report, summary, None)
    if options.quiet:
        return
    reused = sum(r.reused for r in results.values())
    note = f"{len(results)} segments joined ({joined.method})"
    if reused:
        note += f", {reused} of them reused from an earlier run"
    lines = [p.describe() for p in joined.audio_plans if p.action == "transcode"]
    for line in [*lines, note, summary.one_line()]:
        stderr_console.print(line, markup=False, highlight=False, soft_wrap=True)


SPREAD_KEYWORDS = ("workers", "engine", "ray_address", "gpus_per_worker")
"""The Python API's keywords for --workers, --engine, --ray-address, --gpus-per-worker."""


def enhance_from_keywords(
    input: Path | str | None, output: Path | str | None, scale: int, options: dict[str, Any]
) -> EnhanceSummary:
    """`facesr_video.enhance(IN, OUT, workers=N, ...)`: one video in parallel segments
    (`input` None: the call named many inputs or a folder, which segments do not take)."""
    from facesr_video.enhance.api import span_option
    from facesr_video.enhance.options import make_options

    options = dict(options)
    spread = ScaleOptions(**{k: options.pop(k) for k in SPREAD_KEYWORDS if k in options})
    span_option(options)
    if input is None or output is None:
        raise InputError("workers= and engine= split one video", "give one input and output=")
    template = make_options(input, output, scale, options)
    return run_parallel([Path(input), Path(output)], None, template, spread)
