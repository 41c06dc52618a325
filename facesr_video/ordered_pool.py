"""One worker thread running calls in the order given, a few behind the thread that submits them.

The face path hands each analysed frame to the worker that runs the network, and `enhance` hands
each finished frame to the encoder (PyAV: colour conversion and libx264, outside the GIL), so the
submitting thread never waits on either. Results come back in submission order; at most `depth`
calls wait, so memory stays bounded; a call's error is raised on the submitting thread when its
result is taken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Result = TypeVar("Result")


class OrderedPool(Generic[Result]):
    """`submit(fn, *args)` queues a call and returns the results finished by then, in order
    (waiting for the oldest while more than `depth` are pending); `drain()` waits for the rest.
    Use as a context manager: leaving it waits for the call running, and after an error first
    cancels those not started."""

    def __init__(self, depth: int, name: str) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.depth = depth
        self._pending: deque[Future[Result]] = deque()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, fn: Callable[..., Result], *args: Any) -> list[Result]:
        self._pending.append(self._pool.submit(fn, *args))
        return self._take(lambda: len(self._pending) > self.depth or self._pending[0].done())

    def drain(self) -> list[Result]:
        return self._take(lambda: True)

    def _take(self, more: Callable[[], bool]) -> list[Result]:
        done = []
        while self._pending and more():
            done.append(self._pending.popleft().result())
        return done

    def __enter__(self) -> OrderedPool[Result]:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            for future in self._pending:
                future.cancel()
        self._pool.shutdown(wait=True)
