"""SIGTERM and SIGHUP end a run the way Ctrl-C does: as a KeyboardInterrupt in the main thread.

The cleanup that Ctrl-C gets (temporary outputs removed, stores left resumable) lives in `except`
and `finally` blocks; a signal that killed the process outright would skip them and leave hidden
`.NAME.partial.mp4` files behind. The exit code is 128 + the signal number, as shells report it:
130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
NAMES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


@dataclass
class Received:
    """The first signal that arrived (None: none, or a KeyboardInterrupt raised in code)."""

    signum: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    @property
    def what(self) -> str:
        return NAMES.get(self.signum or signal.SIGINT, "interrupted")


@contextmanager
def signals_as_interrupts() -> Iterator[Received]:
    """While inside, the first of HANDLED raises KeyboardInterrupt; later ones are ignored so
    that the cleanup it starts runs to the end. Signals ignored by the parent (nohup, a shell's
    background job) stay ignored. Outside the main thread nothing changes."""
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if received.signum is None:
            received.signum = signum
            raise KeyboardInterrupt

    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, interrupt)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
