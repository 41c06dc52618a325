"""Face-region quality of the face path against bicubic, on WH, GRID and CREMA-D, at x4 and x8.

    python tests/benchmarks/bench_enhance_quality.py [--frames 12] [--clips 2] [--scales 4,8]
        [--weights4 W] [--weights8 W] [--face-model NPZ] [--min-face4 20] [--min-face8 12]

Scoring is `facesr-video evaluate`'s (facesr_video.eval.evaluate): each original clip is cropped
to a multiple of S and degraded (degrade.bicubic, antialiased bicubic), the face stage runs in
process, and PSNR, SSIM, identity similarity (dlib descriptor cosine) and temporal flicker are
taken in dlib's face box on the original, the same region for every method. Methods: bicubic,
ours, and ours without smoothing (FaceOptions(smoothing=False)). Printed: means per data set and
over all clips, differences to bicubic, and the targets (beats bicubic on PSNR and SSIM;
flicker no worse than bicubic). The first --clips clips of each set (sorted by name), first
--frames frames each, keep it to a few minutes. --min-face8 is lower than enhance's default
because GRID and CREMA-D faces shrunk x8 are under 20 px wide.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from enhance_bench_inputs import (
    ICT_NPZ,
    SHARED,
    require,
    resolve_weights,
    temp_dir,
    weights_note,
)

from facesr_video.eval.evaluate import EvaluateOptions, EvaluateSummary, evaluate
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    METHOD_NO_SMOOTHING,
    METHOD_OURS,
    ClipResult,
    MethodScores,
    method_means,
)

VIDEOS = SHARED / "data/videos"
SETS = {"WH": ("whitehouse", "*.mp4"), "GRID": ("grid", "*.mpg"), "CREMA-D": ("crema_d", "*.flv")}
COLUMNS = ("psnr", "ssim", "identity", "flicker")


def pick_clips(count: int) -> dict[str, list[Path]]:
    """The first `count` clips of each data set, sorted by name."""
    picked = {}
    for name, (folder, pattern) in SETS.items():
        clips = sorted(require(VIDEOS / folder).glob(pattern))[:count]
        if not clips:
            raise SystemExit(f"no {pattern} clips in {VIDEOS / folder}")
        picked[name] = clips
    return picked


def fmt(value: float, digits: int) -> str:
    return "   nan" if math.isnan(value) else f"{value:.{digits}f}"


def rows_for(label: str, means: tuple[MethodScores, ...]) -> list[str]:
    """One line per method: scores, then ours' differences to bicubic."""
    by_name = {m.method: m for m in means}
    base = by_name.get(METHOD_BICUBIC)
    lines = []
    for m in means:
        cells = [fmt(m.psnr, 2), fmt(m.ssim, 4), fmt(m.identity, 4), fmt(1000 * m.flicker, 2)]
        delta = ""
        if base is not None and m is not base:
            delta = (
                f"{m.psnr - base.psnr:+6.2f} dB {m.ssim - base.ssim:+7.4f} "
                f"{m.identity - base.identity:+7.4f} {1000 * (m.flicker - base.flicker):+6.2f}"
            )
        lines.append(
            f"{label:>8} {m.method:>18} {cells[0]:>7} {cells[1]:>7} {cells[2]:>7} "
            f"{cells[3]:>8}   {delta}"
        )
    return lines


def verdicts(means: tuple[MethodScores, ...]) -> list[str]:
    by_name = {m.method: m for m in means}
    ours, base = by_name.get(METHOD_OURS), by_name.get(METHOD_BICUBIC)
    raw = by_name.get(METHOD_NO_SMOOTHING)
    if ours is None or base is None or math.isnan(ours.psnr):
        return ["targets: no face scored"]

    def check(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines = [
        f"target PSNR ours > bicubic: {ours.psnr:.2f} vs {base.psnr:.2f} dB "
        f"{check(ours.psnr > base.psnr)}",
        f"target SSIM ours > bicubic: {ours.ssim:.4f} vs {base.ssim:.4f} "
        f"{check(ours.ssim > base.ssim)}",
        f"target flicker ours <= bicubic: {1000 * ours.flicker:.2f} vs "
        f"{1000 * base.flicker:.2f} (x1e-3) {check(ours.flicker <= base.flicker)}",
    ]
    if raw is not None:
        lines.append(
            f"smoothing: flicker {1000 * ours.flicker:.2f} with vs {1000 * raw.flicker:.2f} "
            f"without (x1e-3), ratio {ours.flicker / raw.flicker:.3f}"
        )
    return lines


def table(scale: int, summary: EvaluateSummary, sets: dict[str, list[Path]]) -> str:
    head = (
        f"{'set':>8} {'method':>18} {'PSNR':>7} {'SSIM':>7} {'ident':>7} {'flick':>8}   "
        f"{'vs bicubic: dPSNR   dSSIM  dident dflick'}"
    )
    lines = [
        f"x{scale}: flicker in 1e-3 intensity units; identity = cosine of dlib descriptors",
        head,
    ]
    for name, clips in sets.items():
        sources = {str(c) for c in clips}
        results: list[ClipResult] = [c for c in summary.clips if c.source in sources]
        faces = sum(c.faces for c in results)
        frames = sum(c.frames for c in results)
        lines += rows_for(name, method_means(results))
        lines.append(f"{'':>8} ({len(results)} clips, {frames} frames, {faces} faces scored)")
    lines += rows_for("all", summary.means)
    lines += ["  " + v for v in verdicts(summary.means)]
    speeds = ", ".join(f"{m.method} {m.fps:.2f}" for m in summary.means)
    lines.append(f"  mean fps inside the stage (this busy CPU): {speeds}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--clips", type=int, default=2, help="clips per data set")
    parser.add_argument("--scales", default="4,8")
    parser.add_argument("--weights4", type=Path)
    parser.add_argument("--weights8", type=Path)
    parser.add_argument("--face-model", type=Path, default=ICT_NPZ)
    parser.add_argument("--min-face4", type=float, default=20.0, help="low-res px at x4")
    parser.add_argument("--min-face8", type=float, default=12.0, help="low-res px at x8")
    args = parser.parse_args()
    face_model = require(args.face_model)
    sets = pick_clips(args.clips)
    inputs = tuple(c for clips in sets.values() for c in clips)
    given = {4: args.weights4, 8: args.weights8}
    min_face = {4: args.min_face4, 8: args.min_face8}
    started = time.perf_counter()
    outputs = []
    trained = {}
    with temp_dir("bench_enhance_quality_") as name:
        tmp = Path(name)
        for scale in (int(s) for s in args.scales.split(",")):
            weights, trained[scale] = resolve_weights(given[scale], scale, tmp)
            options = EvaluateOptions(
                inputs=inputs,
                out=tmp / f"report_x{scale}",
                scale=scale,
                weights=weights,
                no_smoothing_too=True,
                face_model=face_model,
                device="cpu",
                min_face=min_face[scale],
                max_frames=args.frames,
                samples=0,
                quiet=True,
            )
            summary = evaluate(options)
            outputs.append(f"weights x{scale}: {weights}; min face {min_face[scale]:g} low-res px")
            outputs.append(table(scale, summary, sets))
    print(f"enhance quality, face region, first {args.frames} frames of {args.clips} clips per set")
    if note := weights_note(trained):
        print(note)
    for block in outputs:
        print()
        print(block)
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
