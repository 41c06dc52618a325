"""Errors a user can act on: one line saying what is wrong and what to do.

Every stage raises a subclass of FacesrError for problems caused by the input or the environment;
the CLI turns them into one line on stderr and a non-zero exit code (traceback only with
--verbose). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path


class FacesrError(Exception):
    """A problem the user can fix. `hint` says how."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        """Pickled with its hint, so an error raised in a worker process (scale/pool.py) reaches
        the user whole."""
        return type(self), (self.message, self.hint)


class InputError(FacesrError):
    """The input file or folder is missing, unreadable or not what the command needs."""


class OutputError(FacesrError):
    """The output cannot be written where asked (exists, same as input, folder missing...)."""


class ModelError(FacesrError):
    """A face model or network weights are missing, corrupt or do not match."""


class DeviceError(FacesrError):
    """A compute device was asked for but is not available."""


def disk_full(error: OSError) -> OutputError | None:
    """A full disk or quota, from any writer (PyAV's encoder, numpy, json), as one OutputError
    naming the folder; None for any other OSError, which stays a bug with its traceback."""
    if error.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    where = f": {Path(error.filename).parent}" if error.filename else ""
    return OutputError(
        f"no space left on the output's disk{where}", "free some space, or write elsewhere"
    )
