"""The face analysis runs numpy's BLAS on one thread, even where numpy was loaded first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHECK = """
import json
import numpy  # loaded before facesr_video: OPENBLAS_NUM_THREADS comes too late for it
from facesr_video.analysis.blas import blas_threads, single_threaded_blas
before = blas_threads()
single_threaded_blas()
print(json.dumps([before, blas_threads()]))
"""


def test_analysis_limits_blas_to_one_thread_whatever_was_imported_first() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=True
    )
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    if not before:
        pytest.skip("numpy has no BLAS library that threadpoolctl can see here")
    assert before == [2] * len(before)
    assert after == [1] * len(before)
