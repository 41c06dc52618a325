"""One place that makes rich progress bars, so every long command looks and behaves the same."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr_console = Console(stderr=True)


class RateColumn(TextColumn):
    """Items per second, with a unit (frames/s, faces/s)."""

    def __init__(self, unit: str = "it") -> None:
        super().__init__("")
        self.unit = unit

    def render(self, task):  # type: ignore[override]
        speed = task.finished_speed or task.speed
        text = f"{speed:.1f} {self.unit}/s" if speed else f"- {self.unit}/s"
        return super().render(task).__class__(text, style="progress.data.speed")


def make_progress(unit: str = "frames", quiet: bool = False) -> Progress:
    """A progress bar on stderr: description, bar, n/total, rate, elapsed, ETA."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        disable=quiet,
        transient=False,
    )
