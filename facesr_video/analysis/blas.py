"""One BLAS thread for the face analysis, whatever was imported first.

The per-face maths (3DMM fits, Kalman updates) is many solves of small matrices. OpenBLAS's thread
pool makes those about ten times slower while the network keeps the other cores busy: its threads
spin waiting for work that is too small to share. The package sets OPENBLAS_NUM_THREADS=1 when it
is imported, but that only holds if numpy was not loaded before it (a script that imports torch or
numpy first); threadpoolctl sets the running library's pool instead.
"""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

_done = False


def single_threaded_blas() -> None:
    """Limit every loaded BLAS library to one thread (once per process; torch's and OpenVINO's
    own thread pools are left as they are)."""
    global _done
    if not _done:
        threadpool_limits(limits=1, user_api="blas")
        _done = True


def blas_threads() -> list[int]:
    """The thread count of each loaded BLAS library (for tests and reports)."""
    return [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]
