"""Peak memory of `extract-priors` on a short and a long input of 720p faces.

    python tests/benchmarks/bench_extract_memory.py [--rate 3] [--short 20] [--long 80]
        [--scale 4] [--shard-mb MB] [--face-model NPZ]

Inputs: WH (wh_obama_01.mp4, 1280x720, one face) looped forwards and backwards at --rate
frames/s; every frame gives one sample (x4: a 512x512 HR crop with 13 float16 prior maps,
~7.6 MB). The store writer holds samples until a shard is full (`dataset.store.SHARD_BYTES`, 256
MiB, or --shard-mb), so peak memory stops growing once an input yields more than a shard: the short
input is past that point (60 samples, ~460 MB), the long one 4x longer. Before the byte bound,
extract-priors held up to 512 samples (~4 GB here) before writing any. Each run is its own
process (`extract_priors` through a small script, so --shard-mb can be set), its peak RSS
(ru_maxrss) read by the launcher of bench_enhance_memory.py; target long / short <= 1.15.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from bench_enhance_memory import memory_arguments, print_memory, run_child
from enhance_bench_inputs import ICT_NPZ, WH_CLIP, decode_rgb, require, temp_dir, write_video

# The child: extract one video into a store; the summary's figures go to a JSON file.
CHILD = """
import json, sys
from pathlib import Path
from facesr_video.dataset.extract import extract_priors
from facesr_video.dataset.extract_options import ExtractOptions
a = json.loads(sys.argv[1])
bound = {"shard_bytes": a["shard_bytes"]} if a["shard_bytes"] else {}
options = ExtractOptions(inputs=(Path(a["input"]),), out=Path(a["out"]), scale=a["scale"],
                         face_model=Path(a["model"]), device="cpu", quiet=True, **bound)
s = extract_priors(options)
Path(a["report"]).write_text(json.dumps({"frames": s.frames, "faces": s.faces_stored}))
"""


def store_shards(store: Path) -> tuple[int, float]:
    """(shards, largest shard in MiB) of a store folder, read from its manifest."""
    manifest = json.loads((store / "manifest.json").read_text())
    sizes = [(store / s["file"]).stat().st_size for s in manifest["shards"]]
    return len(sizes), max(sizes) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    memory_arguments(parser, short=20, long=80)
    parser.add_argument("--shard-mb", type=int, default=0, help="0: the store's default")
    parser.add_argument("--face-model", type=Path, default=ICT_NPZ)
    args = parser.parse_args()
    model = require(args.face_model)
    frames = decode_rgb(require(WH_CLIP))
    height, width = frames[0].shape[:2]
    rows, stores = [], []
    with temp_dir("bench_extract_memory_") as name:
        tmp = Path(name)
        floor, _ = run_child([sys.executable, "-c", "import facesr_video.dataset.extract"])
        for seconds in (args.short, args.long):
            src = write_video(
                frames, tmp / f"in_{seconds}s.mp4", Fraction(args.rate), seconds * args.rate
            )
            store, report = tmp / f"store_{seconds}s", tmp / f"report_{seconds}s.json"
            child = {
                "input": str(src),
                "out": str(store),
                "scale": args.scale,
                "model": str(model),
                "report": str(report),
                "shard_bytes": args.shard_mb * 2**20,
            }
            peak, wall = run_child([sys.executable, "-c", CHILD, json.dumps(child)], args.threads)
            data = json.loads(report.read_text())
            rows.append((seconds, data["frames"], data["faces"], peak, wall))
            stores.append((seconds, *store_shards(store)))
    bound = f"{args.shard_mb} MiB" if args.shard_mb else "default (dataset.store.SHARD_BYTES)"
    print(
        f"extract-priors peak RSS, WH {width}x{height} looped at {args.rate} fps, x{args.scale}, "
        f"shard bound {bound}, OMP/OpenBLAS threads per run: {args.threads}"
    )
    for seconds, shards, largest in stores:
        print(f"store of the {seconds} s input: {shards} shards, the largest {largest:.1f} MiB")
    print_memory(rows, floor, "facesr_video.dataset.extract", args.short, args.long)


if __name__ == "__main__":
    main()
