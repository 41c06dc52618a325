"""Speed of `enhance --workers 2` against `--workers 1` on one clip, and how close they are.

    python tests/benchmarks/bench_workers.py [--seconds 15] [--size 160x90] [--scale 4]
        [--faces all|none] [--workers 2] [--warmup 30] [--engine local|ray] [--keep DIR]

The input is made here from WH (wh_obama_01.mp4, 1280x720, one face): its frames shrunk
(antialiased bicubic) to --size and looped forwards and backwards to --seconds at the clip's
rate, encoded with libx264 (keyframes where x264 puts them), the clip's audio copied. Both runs
enhance the same file with the same options; printed: each run's wall time (process start-up,
segment warm-ups and the join included), the ratio, the PSNR between the two outputs over all
frames, and whether frame count, timestamps and audio packets are identical. On a CPU, each
worker gets an equal share of the cores (--threads 0), so the ratio shows what segments buy
over one process that already uses every core.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from facesr_video.enhance.face_stage import FaceOptions  # noqa: E402
from facesr_video.enhance.run import EnhanceOptions, enhance  # noqa: E402
from facesr_video.scale.run import ScaleOptions, enhance_in_segments  # noqa: E402
from tests.benchmarks.enhance_bench_inputs import (  # noqa: E402
    ICT_NPZ,
    WH_CLIP,
    clip_rate,
    decode_rgb,
    require,
    shrink,
    temp_dir,
    write_video,
)
from tests.scale.clips import psnr  # noqa: E402


def make_input(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    frames = [shrink(f, size=size) for f in decode_rgb(require(WH_CLIP))]
    rate = clip_rate(WH_CLIP)
    return write_video(frames, path, rate, round(seconds * rate), audio_from=WH_CLIP)


def frames_of(path: Path) -> tuple[list[np.ndarray], list[int], list[bytes]]:
    with av.open(str(path)) as container:
        video = [(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = [bytes(p) for p in container.demux(audio=0) if p.size]
    return [f for _, f in video], [p for p, _ in video], audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--size", default="160x90")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--faces", default="all", choices=("all", "none"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--engine", default="local", choices=("local", "ray"))
    parser.add_argument("--keep", type=Path, help="write the clip and outputs here")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with temp_dir("bench-workers-") as tmp_name:
        tmp = args.keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        src = make_input(tmp / "input.mp4", args.seconds, (width, height))
        faces = None
        if args.faces == "all":
            faces = FaceOptions(face_model=require(ICT_NPZ))
        options = EnhanceOptions(
            src, tmp / "one.mp4", args.scale, faces=faces, quiet=True, overwrite=True,
            warmup=args.warmup,
        )  # fmt: skip
        started = time.perf_counter()
        one = enhance(options)
        single = time.perf_counter() - started
        started = time.perf_counter()
        split = enhance_in_segments(
            replace(options, output=tmp / "split.mp4"),
            ScaleOptions(workers=args.workers, engine=args.engine),
        )
        parallel = time.perf_counter() - started
        a, b = frames_of(tmp / "one.mp4"), frames_of(tmp / "split.mp4")
        print(
            f"input {src.name}: {one.frames} frames ({args.seconds:g} s) {width}x{height} "
            f"x{args.scale}, faces {args.faces}, {args.engine} engine"
        )
        print(f"--workers 1: {single:.1f} s ({one.frames / single:.2f} frames/s)")
        rate = split.frames / parallel
        print(f"--workers {args.workers}: {parallel:.1f} s ({rate:.2f} frames/s)")
        print(f"speed-up: x{single / parallel:.2f}")
        print(f"PSNR workers {args.workers} vs 1: {psnr(a[0], b[0]):.2f} dB")
        same = (len(a[0]) == len(b[0]), a[1] == b[1], a[2] == b[2])
        print("same frame count, timestamps, audio packets: " + ", ".join(map(str, same)))


if __name__ == "__main__":
    main()
