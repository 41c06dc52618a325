"""The console script: imports the command line (torch, PyAV, dlib: seconds) only inside here,
so Ctrl-C while those load ends with one line and exit code 130, not a traceback."""

from __future__ import annotations

import sys


def run() -> None:
    """`facesr-video ...`: load the command line, run it, exit with its code."""
    try:
        from facesr_video.cli import main
    except KeyboardInterrupt:
        print("stopped (Ctrl-C) while starting; nothing was written", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
