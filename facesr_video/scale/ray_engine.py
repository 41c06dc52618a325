"""The Ray engine: the same segments as Ray tasks, on a cluster or a local Ray.

Each task loads one network replica and runs one segment; `gpus_per_worker` reserves GPUs
for it (Ray then shows the task only its own GPUs, as `cuda`). Ray is an optional extra
(`pip install 'facesr-video[ray]'`). On a cluster, every node must see the input and the work
folder beside OUT at the same paths (a shared file system), and have facesr-video installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

from facesr_video.errors import FacesrError
from facesr_video.scale.segment import (
    SegmentFailure,
    SegmentJob,
    SegmentResult,
    run_segment_caught,
)


def import_ray():
    """The ray module, or one clear line saying how to get it."""
    try:
        import ray
    except ImportError:
        raise FacesrError(
            "--engine ray needs Ray, which is not installed",
            "pip install 'facesr-video[ray]', or use --engine local",
        ) from None
    return ray


@dataclass(frozen=True)
class RayEngine:
    workers: int  # segments running at once
    address: str | None = None  # None: $RAY_ADDRESS, else a local Ray started here
    gpus_per_worker: float = 0.0

    def run(self, jobs: list[SegmentJob]) -> Iterator[SegmentResult | SegmentFailure]:
        """Each job's result (or failure) as it finishes, at most `workers` at a time."""
        if not jobs:
            return
        ray = import_ray()
        started_here = self._connect(ray)
        try:
            task = ray.remote(num_cpus=1, num_gpus=self.gpus_per_worker)(run_segment_caught)
            waiting = [self._on_device(job) for job in jobs]
            running = []
            while waiting or running:
                while waiting and len(running) < self.workers:
                    running.append(task.remote(waiting.pop(0)))
                done, running = ray.wait(running, num_returns=1)
                yield ray.get(done[0])
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray) -> bool:
        """Join the given cluster, or start a local Ray; True when started here."""
        if ray.is_initialized():
            return False
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, logging_level="ERROR")
        else:
            ray.init(include_dashboard=False, logging_level="ERROR")
        return True

    def _on_device(self, job: SegmentJob) -> SegmentJob:
        """A task sees only the GPUs Ray gave it (as `cuda`), or none (`cpu`)."""
        faces = job.options.faces
        if faces is None:
            return job
        device = "cuda" if self.gpus_per_worker > 0 else "cpu"
        return replace(job, options=replace(job.options, faces=replace(faces, device=device)))
