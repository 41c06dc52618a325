"""Peak memory of `enhance` WITH the face path on a 10 s and a 60 s input of one frame size.

    python tests/benchmarks/bench_enhance_memory.py [--rate 3] [--short 10] [--long 60]
        [--scale 4] [--weights W] [--face-model NPZ]

Inputs: WH (wh_obama_01.mp4) shrunk x8 to 160x90, looped forwards and backwards (no jump cuts,
so the track lives through the whole clip) at --rate frames/s, with the clip's AAC audio. The
low rate keeps the run to a few minutes: memory depends on the frame count, which still grows
6x, and each run uses --threads 1 (torch and BLAS threads spin on this shared CPU). Each
enhance runs in its own process (`python -m facesr_video enhance ... --report`); its
peak RSS (ru_maxrss) comes from os.wait4 in a small launcher process, and the report must show
faces enhanced, so the face path really ran. Streaming means the ratio long / short stays
near 1 (target <= 1.15).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from enhance_bench_inputs import (
    ICT_NPZ,
    WH_CLIP,
    decode_rgb,
    require,
    resolve_weights,
    shrink,
    temp_dir,
    weights_note,
    write_video,
)

TARGET_RATIO = 1.15


# Linux charges a child with its parent's RSS at exec (the forked copy of the parent's memory
# is the child's high-water mark until exec replaces it), and this process holds torch and the
# decoded clip. So a small launcher process starts the command and reports its ru_maxrss.
LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(process.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_child(cmd: list[str], threads: int | None = None) -> tuple[float, float]:
    """Run cmd (with `threads` OpenMP/BLAS threads if given); (peak RSS MiB, wall seconds)."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env=env,
    )
    kilobytes, code = (int(word) for word in done.stdout.split()[-2:])
    if code != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return kilobytes / 1024, time.perf_counter() - started  # ru_maxrss is kB on Linux


def memory_arguments(parser: argparse.ArgumentParser, short: int, long: int) -> None:
    """The options every memory benchmark shares: input rate and lengths, threads, scale."""
    parser.add_argument("--rate", type=int, default=3, help="input frames per second")
    parser.add_argument("--short", type=int, default=short, help="seconds")
    parser.add_argument("--long", type=int, default=long, help="seconds")
    parser.add_argument("--scale", type=int, default=4, choices=(4, 8))
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per run")


def print_weights(weights: Path, trained: bool, scale: int, threads: int) -> None:
    """Which weights ran (and the warning if untrained) and the threads per run."""
    print(f"weights: {weights}; OMP/OpenBLAS threads per run: {threads}")
    if note := weights_note({scale: trained}):
        print(note)


def print_memory(rows: list[tuple], floor: float, imported: str, short: int, long: int) -> None:
    """The table of runs (input s, frames, faces, peak RSS MiB, wall s), the long / short ratio
    against TARGET_RATIO, the growth per extra frame, and the floor (python + `imported`)."""
    print(f"\n{'input':>6} {'frames':>6} {'faces':>6} {'peak RSS MiB':>12} {'wall s':>7}")
    for seconds, frames, faces, peak, wall in rows:
        print(f"{seconds:>5}s {frames:>6} {faces:>6} {peak:12.1f} {wall:7.1f}")
    ratio = rows[1][3] / rows[0][3]
    ok = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(f"\nratio {long} s / {short} s: {ratio:.3f} (target <= {TARGET_RATIO}: {ok})")
    growth, extra = rows[1][3] - rows[0][3], rows[1][1] - rows[0][1]
    print(
        f"growth {growth:+.1f} MiB over {extra} more frames ({1024 * growth / extra:+.1f} kB/frame)"
    )
    print(f"floor (python + {imported} imported): {floor:.1f} MiB")


def enhance_cmd(src: Path, out: Path, report: Path, scale: int, weights: Path, model: Path):
    return [
        sys.executable,
        "-m",
        "facesr_video",
        "-q",
        "enhance",
        str(src),
        str(out),
        "--scale",
        str(scale),
        "--weights",
        str(weights),
        "--face-model",
        str(model),
        "--device",
        "cpu",
        "--preset",
        "ultrafast",
        "--report",
        str(report),
        "--overwrite",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    memory_arguments(parser, short=10, long=60)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--face-model", type=Path, default=ICT_NPZ)
    args = parser.parse_args()
    model = require(args.face_model)
    lr = [shrink(f, 8) for f in decode_rgb(require(WH_CLIP))]
    height, width = lr[0].shape[:2]
    rate = Fraction(args.rate)
    rows = []
    with temp_dir("bench_enhance_memory_") as name:
        tmp = Path(name)
        weights, trained = resolve_weights(args.weights, args.scale, tmp)
        # The interpreter with the package imported: the floor both runs share.
        floor, _ = run_child([sys.executable, "-c", "import facesr_video.enhance.run"])
        for seconds in (args.short, args.long):
            src = write_video(
                lr, tmp / f"in_{seconds}s.mp4", rate, seconds * args.rate, audio_from=WH_CLIP
            )
            report = tmp / f"report_{seconds}s.json"
            cmd = enhance_cmd(src, tmp / f"out_{seconds}s.mp4", report, args.scale, weights, model)
            peak, wall = run_child(cmd, args.threads)
            data = json.loads(report.read_text())
            if data["faces_enhanced"] <= 0:
                raise SystemExit(f"the face path enhanced no face on the {seconds} s input")
            rows.append((seconds, data["frames"], data["faces_enhanced"], peak, wall))
    print(
        f"enhance peak RSS, face path, {width}x{height} -> {width * args.scale}x"
        f"{height * args.scale} (x{args.scale}), {args.rate} fps, WH looped, audio copied"
    )
    print_weights(weights, trained, args.scale, args.threads)
    print_memory(rows, floor, "facesr_video.enhance.run", args.short, args.long)


if __name__ == "__main__":
    main()
