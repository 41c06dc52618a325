"""`extract-priors --jobs N`: the inputs analysed in N processes, merged into one store.

The inputs not yet complete in the store are split by file into N shares of about equal cost
(an image counts 1, a video its --max-frames, or its frame count / --every without one). Each
process (scale/pool.py) runs the single-process extraction on its share into a part store,
OUT/.parts/part-K; at the end, or when the run is interrupted, the parts are merged into OUT
(store_merge.py) and removed. Part stores left by a run that was killed outright are merged first
by the next run, so no finished work is lost and the next split does not depend on the last one.

Source ids, degradations and track ids depend only on each source, so the samples are the ones
a single process stores; the store holds them in another order (process by process), which the
contact sheet, picking by sorted key, does not show.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from facesr_video.dataset.extract import extract_listing, finish_store, is_new_store
from facesr_video.dataset.extract_log import ExtractLog, SkipRecord
from facesr_video.dataset.extract_options import ExtractOptions, ExtractSummary, check_options
from facesr_video.dataset.extract_sources import run_settings
from facesr_video.dataset.inputs import InputItem, InputListing, list_inputs
from facesr_video.dataset.store import StoreReader
from facesr_video.dataset.store_merge import merge_parts
from facesr_video.device import resolve_device
from facesr_video.errors import FacesrError
from facesr_video.progress import make_progress
from facesr_video.scale.pool import advance, map_in_processes
from facesr_video.video.probe import probe

PARTS_DIR = ".parts"
UNKNOWN_VIDEO_FRAMES = 100  # the cost of a video whose length the container does not say


@dataclass(frozen=True)
class PartJob:
    """One process's share: its options (out = its part store) and its inputs."""

    options: ExtractOptions
    listing: InputListing
    threads: int


def extract_in_processes(options: ExtractOptions, jobs: int) -> ExtractSummary:
    """Run extract-priors in `jobs` processes; the summary of the whole run."""
    began = time.perf_counter()
    check_options(options)
    resolve_device(options.device)  # a missing device fails here, not once per process
    listing = list_inputs(options.inputs)
    out = options.out
    created = is_new_store(out)
    _merge_leftovers(out)
    done = ExtractLog(out)
    settings = run_settings(options)
    todo = [item for item in listing.items if not done.is_done(item.source, settings)]
    shares = split_by_cost(todo, jobs, lambda item: input_cost(item, options))
    threads = max(1, (os.cpu_count() or 1) // max(1, len(shares)))
    parts = [out / PARTS_DIR / f"part-{k}" for k in range(len(shares))]
    work = [
        PartJob(replace(options, out=part, quiet=True), InputListing(tuple(share), ()), threads)
        for part, share in zip(parts, shares, strict=True)
    ]
    already = len(listing.items) - len(todo)
    try:
        with make_progress("inputs", options.quiet) as progress:
            task = progress.add_task(
                f"extract-priors ({len(work)} processes)",
                total=len(listing.items),
                completed=already,
            )
            results = map_in_processes(
                _extract_part,
                work,
                jobs,
                on_progress=lambda count: progress.update(task, completed=already + count),
            )
    finally:
        _merge_leftovers(out)
        if created and _samples(out) == 0:
            shutil.rmtree(out, ignore_errors=True)
    summary = _combined(options, listing, already, results, time.perf_counter() - began)
    return finish_store(options, summary, created)


def _extract_part(job: PartJob) -> ExtractSummary:
    """In a worker: the single-process extraction of one share into its part store."""
    torch.set_num_threads(job.threads)
    device = resolve_device(job.options.device)
    return extract_listing(job.options, job.listing, device, time.perf_counter(), advance)


def input_cost(item: InputItem, options: ExtractOptions) -> float:
    """A rough cost of analysing one input: 1 per frame analysed."""
    if item.kind == "image":
        return 1.0
    if options.max_frames is not None:
        return float(options.max_frames)
    try:
        frames = probe(item.path).expected_frames
    except FacesrError:
        return 1.0  # unreadable: skipped at once by whichever process gets it
    return float(frames // options.every) if frames else float(UNKNOWN_VIDEO_FRAMES)


def split_by_cost(
    items: Sequence[InputItem], jobs: int, cost: Callable[[InputItem], float]
) -> list[list[InputItem]]:
    """At most `jobs` non-empty shares of about equal total cost (largest first, each to the
    lightest share), each in the order of `items`."""
    costs = [cost(item) for item in items]
    loads = [0.0] * max(1, min(jobs, len(items)))
    owner = [0] * len(items)
    for index in sorted(range(len(items)), key=lambda i: (-costs[i], i)):
        lightest = min(range(len(loads)), key=lambda k: (loads[k], k))
        owner[index] = lightest
        loads[lightest] += costs[index]
    shares = [[item for i, item in enumerate(items) if owner[i] == k] for k in range(len(loads))]
    return [share for share in shares if share]


def _merge_leftovers(out: Path) -> None:
    """Part stores under OUT (this run's, or a killed run's) merged into OUT, then removed."""
    root = out / PARTS_DIR
    if root.is_dir():
        merge_parts(out, sorted(p for p in root.iterdir() if p.is_dir()))
        shutil.rmtree(root)


def _samples(out: Path) -> int:
    try:
        return len(StoreReader(out))
    except FacesrError:
        return 0


def _combined(
    options: ExtractOptions,
    listing: InputListing,
    already: int,
    parts: Sequence[ExtractSummary],
    seconds: float,
) -> ExtractSummary:
    """One summary of the parts' (stage times are summed over the processes)."""
    stages: dict[str, float] = {}
    for part in parts:
        for stage, value in part.stage_seconds.items():
            stages[stage] = stages.get(stage, 0.0) + value
    empty = tuple(SkipRecord(path, reason, 1) for path, reason in listing.empty)
    return ExtractSummary(
        store=options.out,
        inputs=len(listing.items),
        already_done=already,
        frames=sum(p.frames for p in parts),
        faces_stored=sum(p.faces_stored for p in parts),
        faces_present=sum(p.faces_present for p in parts),
        samples_total=_samples(options.out),
        skipped=empty + tuple(r for p in parts for r in p.skipped),
        seconds=seconds,
        stage_seconds=stages,
    )
