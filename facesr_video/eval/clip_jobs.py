"""`evaluate --jobs N`: clips scored in N processes (scale/pool.py), one report as from one.

Each worker builds the methods (network, face model) and the identity encoder once, on its
first clip, and returns each clip's `ClipResult` (figures and sample frames) to the parent,
which writes the report exactly as a single-process run does, clips in the order given. Torch
threads are divided between the workers so N processes do not each claim every core.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
from rich.progress import Progress, TaskID

from facesr_video.eval.clips import EvalClip
from facesr_video.eval.evaluate import (
    EvaluateOptions,
    MethodSpec,
    build_methods,
    evaluate_clip,
    print_clip,
)
from facesr_video.eval.identity import IdentityEncoder
from facesr_video.eval.results import ClipResult
from facesr_video.scale.pool import map_in_processes


@dataclass
class _Worker:
    """What one worker process evaluates with, built on its first clip."""

    options: EvaluateOptions
    threads: int
    methods: tuple[MethodSpec, ...] | None = None
    encoder: IdentityEncoder | None = None


_worker: _Worker | None = None


def _setup(options: EvaluateOptions, threads: int) -> None:
    """Worker start: remember the options; nothing that can fail (see map_in_processes)."""
    global _worker
    _worker = _Worker(options, threads)


def _evaluate_one(clip: EvalClip) -> tuple[ClipResult, float]:
    """One clip in a worker: every method's pass, progress through the pool's shared count."""
    worker = _worker
    assert worker is not None, "evaluate worker used before its setup"
    if worker.methods is None or worker.encoder is None:
        worker.methods, _, _ = build_methods(worker.options)
        torch.set_num_threads(worker.threads)  # after build_methods, which sets its own count
        worker.encoder = IdentityEncoder()
    return evaluate_clip(clip, worker.options, worker.methods, worker.encoder)


def evaluate_in_processes(
    options: EvaluateOptions, clips: tuple[EvalClip, ...], progress: Progress, task: TaskID
) -> list[tuple[ClipResult, float]]:
    """Every clip's result and wall time, in the order of `clips`, from `options.jobs` workers."""
    jobs = min(options.jobs, len(clips))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    quiet_options = replace(options, quiet=True)  # the parent alone shows progress and lines

    def finished(index: int, done: tuple[ClipResult, float]) -> None:
        if clips[index].kind == "video" and not options.quiet:
            print_clip(*done)

    progress.update(task, description=f"evaluate ({jobs} processes)")
    return map_in_processes(
        _evaluate_one,
        clips,
        jobs,
        setup=_setup,
        setup_args=(quiet_options, threads),
        on_progress=lambda frames: progress.update(task, completed=frames),
        on_result=finished,
    )
