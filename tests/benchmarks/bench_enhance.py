"""Speed of `enhance` with the face path against the plain path, same input, same run.

    python tests/benchmarks/bench_enhance.py [--frames 24] [--threads 1,2] [--scales 4,8]
        [--windows 1,5] [--blas-threads N] [--weights4 W] [--weights8 W] [--face-model NPZ]
        [--preset P] [--runtimes torch,openvino]

Inputs are made here from WH (wh_obama_01.mp4, 1280x720, one face): the first --frames frames
shrunk by degrade.bicubic (antialiased bicubic) to 320x180 (x4) and 160x90 (x8), audio copied. Both
upscale to 1280x720. For each scale and torch thread count the plain path (`faces=None`) and the
face path run on the same file; printed: frames/s end to end (setup excluded: the summary's own
clock), face/plain ratio, and the face path's per-stage ms/frame and share from stage_seconds
(decode, analysis and render run on one thread, sr and blend on the other, the background
upscale on the less busy of the two: the shares of wall time overlap and can sum past 100%).
Target: the x4 face path at >= 0.33x the plain path's frames/s on a CPU. With CUDA: 480x270 ->
1920x1080 (x4) face path fps, target >= 30 fps. --blas-threads sets OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS before numpy loads (the fit and smoother call numpy.linalg on small matrices,
where BLAS threads spin on a busy CPU).
Untrained weights are used (and said) when the shipped ones are missing: the
architecture, hence the cost, is the same. --windows: the face path once per window size (frames
the network fuses, `enhance --frames`); single-frame weights are grown to the window with an
untrained fusion when needed (same cost). --runtimes: the face path once per network runtime
(`enhance --runtime`; auto precision), each warmed on a short clip first so graph conversion and
compilation stay out of its figures; the runtime that ran and its precision are read from the
run's --report.
"""

from __future__ import annotations

import os
import sys

if "--blas-threads" in sys.argv:  # must precede the first numpy import
    _count = sys.argv[sys.argv.index("--blas-threads") + 1]
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _count

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from enhance_bench_inputs import (
    ICT_NPZ,
    WH_CLIP,
    clip_rate,
    decode_rgb,
    require,
    resolve_weights,
    shrink,
    temp_dir,
    weights_note,
    with_window,
    write_video,
)

from facesr_video.enhance.face_stage import STAGES, FaceOptions
from facesr_video.enhance.run import EnhanceOptions, EnhanceSummary, enhance

TARGET_RATIO = 0.33  # x4 face path against the plain path, same run
TARGET_GPU_FPS = 30.0


@dataclass(frozen=True)
class Run:
    scale: int
    threads: int
    plain: EnhanceSummary
    face: EnhanceSummary
    window: int = 1
    runtime: str = "torch fp32"  # the network runtime that ran, and its precision


def run_face(
    src: Path, out: Path, scale: int, face: FaceOptions, preset: str | None
) -> tuple[EnhanceSummary, str]:
    """The face path's summary and the network runtime that ran ("openvino bf16"), read from
    the run's --report."""
    report = out.with_suffix(".json")
    options = EnhanceOptions(
        src, out, scale, quiet=True, overwrite=True, faces=face, preset=preset, report=report
    )
    summary = enhance(options)
    runtime = json.loads(report.read_text())["network_runtime"]
    return summary, f"{runtime['name']} {runtime['precision']}"


def run_enhance(
    src: Path, out: Path, scale: int, face: FaceOptions | None, preset: str | None
) -> EnhanceSummary:
    options = EnhanceOptions(src, out, scale, quiet=True, overwrite=True, faces=face, preset=preset)
    return enhance(options)


def make_input(tmp: Path, scale: int, frames: int) -> Path:
    """WH's first `frames` frames shrunk by `scale` (1280x720 -> 320x180 or 160x90), with audio."""
    hr = decode_rgb(WH_CLIP, frames)
    lr = [shrink(f, scale) for f in hr]
    return write_video(lr, tmp / f"wh_x{scale}.mp4", clip_rate(WH_CLIP), audio_from=WH_CLIP)


def stage_table(runs: list[Run]) -> str:
    """Face path: ms/frame and % of the summed stage time, one column per run."""
    head = f"{'stage':>8} " + " ".join(
        f"{f'x{r.scale} t{r.threads} w{r.window}':>16}" for r in runs
    )
    lines = [head, f"{'':>8} " + " ".join(f"{r.runtime:>16}" for r in runs)]
    lines.append(f"{'':>8} " + " ".join(f"{'ms/frame    %':>16}" for _ in runs))
    for stage in (*STAGES, "other", "total"):
        cells = []
        for r in runs:
            seconds = r.face.stage_seconds
            staged = sum(seconds.get(s, 0.0) for s in STAGES)
            value = {
                "other": max(0.0, r.face.seconds - staged),
                "total": r.face.seconds,
            }.get(stage, seconds.get(stage, 0.0))
            ms = 1000.0 * value / max(1, r.face.frames)
            cells.append(f"{ms:9.1f} {100.0 * value / r.face.seconds:5.1f}%")
        lines.append(f"{stage:>8} " + " ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def speed_table(runs: list[Run]) -> str:
    lines = [
        f"{'scale':>5} {'in':>8} {'threads':>7} {'window':>6} {'runtime':>13} {'frames':>6} "
        f"{'plain fps':>9} {'face fps':>9} "
        f"{'face/plain':>10} {'faces':>5} {'target':>12}"
    ]
    for r in runs:
        ratio = r.face.fps / r.plain.fps if r.plain.fps else float("nan")
        target = ""
        if r.scale == 4:
            ok = "ok" if ratio >= TARGET_RATIO else "MISSED"
            target = f">={TARGET_RATIO:g}x {ok}"
        size = f"{1280 // r.scale}x{720 // r.scale}"
        lines.append(
            f"{r.scale:>5} {size:>8} {r.threads:>7} {r.window:>6} {r.runtime:>13} "
            f"{r.face.frames:>6} {r.plain.fps:9.2f} "
            f"{r.face.fps:9.2f} {ratio:10.3f} {r.face.faces_enhanced:>5} {target:>12}"
        )
    return "\n".join(lines)


def gpu_section(tmp: Path, weights: Path, face_model: Path, frames: int, preset: str | None):
    """480x270 -> 1920x1080 at x4 on CUDA, or the reason it was skipped."""
    if not torch.cuda.is_available():
        return "GPU 480x270 -> 1920x1080 x4: skipped (no CUDA device on this machine)"
    hr = decode_rgb(WH_CLIP, frames)
    lr = [shrink(f, size=(480, 270)) for f in hr]
    src = write_video(lr, tmp / "wh_270p.mp4", clip_rate(WH_CLIP), audio_from=WH_CLIP)
    face = FaceOptions(weights=weights, face_model=face_model, device="cuda")
    run_enhance(src, tmp / "warm.mp4", 4, face, preset)  # CUDA context, kernels, allocator
    plain = run_enhance(src, tmp / "gpu_plain.mp4", 4, None, preset)
    ours = run_enhance(src, tmp / "gpu_face.mp4", 4, face, preset)
    ok = "ok" if ours.fps >= TARGET_GPU_FPS else "MISSED"
    return (
        f"GPU {torch.cuda.get_device_name()} 480x270 -> 1920x1080 x4, {ours.frames} frames: "
        f"face {ours.fps:.1f} fps (target >= {TARGET_GPU_FPS:g}: {ok}), plain {plain.fps:.1f} "
        f"fps, ratio {ours.fps / plain.fps:.3f}, {ours.faces_enhanced} faces\n"
        + stage_table([Run(4, torch.get_num_threads(), plain, ours)])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=24, help="WH frames per input (max 115)")
    parser.add_argument(
        "--threads", default="0,2", help="torch thread counts to compare (0: enhance's default)"
    )
    parser.add_argument("--scales", default="4,8")
    parser.add_argument("--windows", default="1,5", help="enhance --frames values to compare")
    parser.add_argument("--weights4", type=Path)
    parser.add_argument("--weights8", type=Path)
    parser.add_argument("--face-model", type=Path, default=ICT_NPZ)
    parser.add_argument("--blas-threads", help="OPENBLAS/OMP threads (default: unset)")
    parser.add_argument("--preset", default=None, help="x264 preset (default: enhance's)")
    parser.add_argument(
        "--runtimes",
        default="auto",
        help="enhance --runtime values to compare: auto, torch, openvino",
    )
    args = parser.parse_args()
    require(WH_CLIP)
    face_model = require(args.face_model)
    scales = [int(s) for s in args.scales.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    windows = [int(w) for w in args.windows.split(",")]
    runtimes = args.runtimes.split(",")
    given = {4: args.weights4, 8: args.weights8}
    started = time.perf_counter()
    with temp_dir("bench_enhance_") as name:
        tmp = Path(name)
        weights, trained = {}, {}
        for scale in scales:
            weights[scale], trained[scale] = resolve_weights(given[scale], scale, tmp)
        runs: list[Run] = []
        for scale in scales:
            src = make_input(tmp, scale, args.frames)
            face = FaceOptions(weights=weights[scale], face_model=face_model, device="cpu")
            warm = write_video(decode_rgb(src, 3), tmp / "warm.mp4", clip_rate(src))
            run_enhance(warm, tmp / "warm_out.mp4", scale, face, args.preset)  # first calls
            for count in threads:
                # 0: enhance's default (all cores but one for torch, one for the analysis).
                if count > 0:
                    torch.set_num_threads(count)
                plain = run_enhance(src, tmp / "plain.mp4", scale, None, args.preset)
                for window in windows:
                    grown = with_window(weights[scale], window, tmp)
                    for runtime in runtimes:
                        options = replace(
                            face, threads=count, weights=grown, frames=window, runtime=runtime
                        )
                        run_face(warm, tmp / "warm_out.mp4", scale, options, args.preset)
                        ours, ran = run_face(src, tmp / "face.mp4", scale, options, args.preset)
                        runs.append(Run(scale, torch.get_num_threads(), plain, ours, window, ran))
        print(f"enhance speed on {WH_CLIP.name}, {args.frames} frames, -> 1280x720, CPU")
        print(f"weights: {', '.join(f'x{s} {weights[s]}' for s in scales)}")
        blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        print(f"BLAS threads (OPENBLAS_NUM_THREADS): {blas}; torch threads per row below")
        if note := weights_note(trained):
            print(note)
        print()
        print(speed_table(runs))
        print()
        print("face path per stage (decode/encode as seen by the pipeline; other = unaccounted):")
        print(stage_table(runs))
        print()
        gpu_weights = weights.get(4) or resolve_weights(given[4], 4, tmp)[0]
        print(gpu_section(tmp, gpu_weights, face_model, args.frames, args.preset))
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
