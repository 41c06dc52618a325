"""Peak memory of `evaluate` (bicubic and ours) on a 10 s and a 60 s clip of one frame size.

    python tests/benchmarks/bench_evaluate_memory.py [--rate 3] [--short 10] [--long 60]
        [--scale 4] [--weights W] [--face-model NPZ]

Inputs: WH (wh_obama_01.mp4) shrunk x2 to 640x360 (the high-resolution clip evaluate degrades
to 160x90 at x4), looped forwards and backwards at --rate frames/s. Each evaluate runs in its own
process (`python -m facesr_video evaluate ...`), its peak RSS (ru_maxrss) read by the launcher of
bench_enhance_memory.py; the report must show faces scored, so the reference faces were found
and the face path ran. The reference faces are found once per clip and spooled to a temporary
file for the second pass (`eval.reference.ReferenceSpool`) instead of being held for the whole
clip, so the ratio long / short stays near 1 (target <= 1.15).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from bench_enhance_memory import memory_arguments, print_memory, print_weights, run_child
from enhance_bench_inputs import (
    ICT_NPZ,
    WH_CLIP,
    decode_rgb,
    require,
    resolve_weights,
    shrink,
    temp_dir,
    write_video,
)


def evaluate_cmd(src: Path, out: Path, scale: int, weights: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "facesr_video",
        "-q",
        "evaluate",
        str(src),
        "--scale",
        str(scale),
        "--out",
        str(out),
        "--weights",
        str(weights),
        "--face-model",
        str(model),
        "--device",
        "cpu",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    memory_arguments(parser, short=10, long=60)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--face-model", type=Path, default=ICT_NPZ)
    args = parser.parse_args()
    model = require(args.face_model)
    hr = [shrink(f, 2) for f in decode_rgb(require(WH_CLIP))]
    height, width = hr[0].shape[:2]
    rows = []
    with temp_dir("bench_evaluate_memory_") as name:
        tmp = Path(name)
        weights, trained = resolve_weights(args.weights, args.scale, tmp)
        floor, _ = run_child([sys.executable, "-c", "import facesr_video.eval.evaluate"])
        for seconds in (args.short, args.long):
            src = write_video(
                hr, tmp / f"in_{seconds}s.mp4", Fraction(args.rate), seconds * args.rate
            )
            out = tmp / f"report_{seconds}s"
            peak, wall = run_child(evaluate_cmd(src, out, args.scale, weights, model), args.threads)
            (clip,) = json.loads((out / "report.json").read_text())["clips"]
            if clip["faces"] <= 0:
                raise SystemExit(f"no face scored on the {seconds} s input")
            rows.append((seconds, clip["frames"], clip["faces"], peak, wall))
    print(
        f"evaluate peak RSS (bicubic + ours), WH {width}x{height} -> x{args.scale} and back, "
        f"{args.rate} fps"
    )
    print_weights(weights, trained, args.scale, args.threads)
    print_memory(rows, floor, "facesr_video.eval.evaluate", args.short, args.long)


if __name__ == "__main__":
    main()
