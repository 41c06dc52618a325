"""The local engine: segments run in a pool of worker processes on this machine.

Processes are started with `spawn` (a fresh interpreter: no forked torch or dlib state, and
the same on every platform). Each worker takes one device from the list when it starts
(`--device cuda:0,cuda:1`), loads its own network replica, and runs one segment at a time.
On an error or Ctrl-C the pool is terminated: recorded segments stay for the rerun.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from dataclasses import dataclass, replace

from facesr_video.scale.segment import (
    SegmentFailure,
    SegmentJob,
    SegmentResult,
    run_segment_caught,
)

_worker_device: str | None = None  # set in each worker process by _claim_device


def _claim_device(devices) -> None:
    global _worker_device
    try:
        _worker_device = devices.get(timeout=5)
    except queue.Empty:
        _worker_device = None


def _run(job: SegmentJob) -> SegmentResult | SegmentFailure:
    faces = job.options.faces
    if _worker_device is not None and faces is not None:
        options = replace(job.options, faces=replace(faces, device=_worker_device))
        job = replace(job, options=options)
    return run_segment_caught(job)


@dataclass(frozen=True)
class LocalEngine:
    workers: int
    devices: tuple[str, ...] = ()  # one per worker process; empty: as the options say

    def run(self, jobs: list[SegmentJob]) -> Iterator[SegmentResult | SegmentFailure]:
        """Each job's result (or failure) as it finishes."""
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        devices = context.Queue()
        for device in self.devices:
            devices.put(device)
        processes = max(1, min(self.workers, len(jobs)))
        with context.Pool(processes, initializer=_claim_device, initargs=(devices,)) as pool:
            yield from pool.imap_unordered(_run, jobs)
