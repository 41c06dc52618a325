"""Encoding on a thread of its own, a few frames behind the thread that makes them.

The encoder (PyAV: colour conversion and libx264, both outside the GIL) would otherwise run on the
thread that decodes and analyses, which then waits for it on every frame. Frames are written in
the order given; at most `depth` wait, so memory stays bounded; an encoder error is raised on the
making thread at its next hand-over.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")


class WriteBehind(Generic[Item]):
    """`submit(item)` hands an item to `write` on the writer thread and returns the items
    written since the last call, in order; `drain()` waits for the rest. Use as a context
    manager: leaving it drains, or after an error cancels what has not started."""

    def __init__(self, write: Callable[[Item], None], depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.write, self.depth = write, depth
        self._pending: deque[tuple[Future[None], Item]] = deque()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facesr-encode")

    def submit(self, item: Item) -> list[Item]:
        self._pending.append((self._pool.submit(self.write, item), item))
        done = []
        while len(self._pending) > self.depth or (self._pending and self._pending[0][0].done()):
            future, written = self._pending.popleft()
            future.result()
            done.append(written)
        return done

    def drain(self) -> list[Item]:
        done = []
        while self._pending:
            future, written = self._pending.popleft()
            future.result()
            done.append(written)
        return done

    def __enter__(self) -> WriteBehind[Item]:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            for future, _ in self._pending:
                future.cancel()
        self._pool.shutdown(wait=True)
