"""A local process pool for commands that split their inputs (`extract-priors --jobs`,
`evaluate --jobs`): each unit of work runs in one of N processes, results come back in order, and
the workers add to one shared count so the command shows one overall progress bar.

Processes are started with "spawn", not "fork": a forked copy of a process that has already
started torch, OpenMP or dlib threads can deadlock. Workers ignore Ctrl-C; the parent stops them
(terminate) when it is interrupted or when any unit fails, and re-raises the unit's error, so a
user error in a worker still ends as one line.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.pool import AsyncResult
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

POLL_SECONDS = 0.2

_shared_count: Any = None  # in a worker: the count all workers add to (multiprocessing.Value)


def advance(amount: int = 1) -> None:
    """Add `amount` to the overall progress; does nothing outside a worker."""
    if _shared_count is not None:
        with _shared_count.get_lock():
            _shared_count.value += amount


def _start_worker(
    count: Any, setup: Callable[..., None] | None, setup_args: tuple[Any, ...]
) -> None:
    """Each worker: leave Ctrl-C to the parent, remember the shared count, run `setup`."""
    global _shared_count
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _shared_count = count
    if setup is not None:
        setup(*setup_args)


def map_in_processes(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    *,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    on_progress: Callable[[int], None] | None = None,
    on_result: Callable[[int, Result], None] | None = None,
) -> list[Result]:
    """`[function(item) for item in items]` in `jobs` processes, in the order of `items`.

    `setup(*setup_args)` runs once in each worker before its first item (it must not fail: do
    anything that can fail lazily in `function`, so the error reaches the parent).
    `on_progress(total)` is called in this process with the sum of every worker's `advance`,
    a few times a second; `on_result(index, result)` as each item finishes, in any order.
    The first failing item's exception is raised here after every worker has been stopped.
    """
    if not items:
        return []
    context = multiprocessing.get_context("spawn")
    count = context.Value("q", 0)
    pool = context.Pool(
        min(jobs, len(items)), _start_worker, (count, setup, setup_args), maxtasksperchild=None
    )
    try:
        pending: dict[int, AsyncResult] = {
            i: pool.apply_async(function, (item,)) for i, item in enumerate(items)
        }
        results: dict[int, Result] = {}
        while pending:
            time.sleep(POLL_SECONDS)
            if on_progress is not None:
                on_progress(count.value)
            for index in [i for i, r in pending.items() if r.ready()]:
                results[index] = pending.pop(index).get()  # raises the worker's exception
                if on_result is not None:
                    on_result(index, results[index])
        if on_progress is not None:
            on_progress(count.value)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    return [results[i] for i in range(len(items))]
