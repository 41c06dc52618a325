"""Where a run's time went: seconds per named stage, for summaries, reports and benchmarks.

One record for every command that says so (enhance's face path, extract-priors). Stages are named
up front so a report lists them in a fixed order, with 0 for one that never ran. Safe to add to
from several threads: enhance's analysis thread and its SR worker both do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


class StageTimes:
    """Wall-clock seconds per stage, summed over a run."""

    def __init__(self, stages: Iterable[str] = ()) -> None:
        self._seconds: dict[str, float] = dict.fromkeys(stages, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        """Add `seconds` to a stage (a stage not named up front is appended)."""
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds

    def update(self, totals: Mapping[str, float]) -> None:
        """Set the totals of stages timed elsewhere (e.g. the analyser's own per-stage sums)."""
        with self._lock:
            self._seconds.update(totals)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Time the body of a `with` block into `stage` (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    @property
    def seconds(self) -> dict[str, float]:
        """A copy of the totals, in stage order."""
        with self._lock:
            return dict(self._seconds)

    def dominant(self) -> str:
        """The stage that took longest so far (what the run is bound by)."""
        seconds = self.seconds
        return max(seconds, key=lambda s: seconds[s])
