"""`facesr-video enhance IN OUT --scale 4` (or IN... --out-dir DIR): builds EnhanceOptions and
calls the enhance API (enhance/api.py), which decides the form."""

from __future__ import annotations

from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.options import check_frames, check_registration, float_option
from facesr_video.cli.state import cli_state
from facesr_video.enhance.api import run_paths
from facesr_video.enhance.batch import BatchSummary
from facesr_video.enhance.face_stage import PASTE_MODES, FaceOptions
from facesr_video.enhance.run import EnhanceOptions
from facesr_video.enhance.span import WARMUP, TimeSpan, parse_time
from facesr_video.enhance.stabilise import STRENGTH
from facesr_video.errors import InputError
from facesr_video.scale.run import ScaleOptions, run_parallel
from facesr_video.sr.runtimes import RUNTIMES
from facesr_video.video.quality import QUALITY_CHOICES

FACE_CHOICES = ("all", "largest", "none")


def time_option(text: str) -> float:
    """--start/--end: seconds or HH:MM:SS[.fff]."""
    try:
        return parse_time(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("enhance")
def enhance_command(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PATH",
        show_default=False,
        help="IN OUT: a video (or .jpg/.png/.webp image) and its output (.mp4, .mkv, .mov, "
        ".webm; an image's format). Or IN... with --out-dir DIR (or a last path that is a "
        "folder): files, folders and globs; each output keeps its input's name in DIR.",
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Folder for many inputs. Outputs recorded as finished there are skipped on a "
        "rerun (--overwrite redoes them); a failing input is reported and the others go on.",
    ),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into folders."),
    compare: Path | None = typer.Option(
        None,
        "--compare",
        help="Also write a side-by-side video, plain upscale | enhanced (IN OUT form only).",
    ),
    scale: int = typer.Option(
        ...,
        "--scale",
        "-s",
        help="Upscaling factor: 2, 4 or 8 (each has its shipped weights; x2 runs the x4 network, "
        "resampled by 1/2, only where the x2 weights are missing).",
    ),
    background: str = typer.Option("bicubic", help="Plain upscaler: bicubic or lanczos."),
    codec: str = typer.Option(
        "libx264", help="Video encoder: libx264, libx265, libsvtav1 or h264_nvenc."
    ),
    crf: int | None = typer.Option(
        None,
        min=0,
        max=63,
        show_default="per codec; libx264: 18",
        help="Quality, lower is better: 0-51 (libsvtav1: 0-63).",
    ),
    preset: str | None = typer.Option(
        None,
        show_default="per codec; libx264: medium",
        help="Encoder speed preset: ultrafast..placebo (libsvtav1: -1..13, h264_nvenc: p1..p7).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace OUT, --report and --debug-overlay if they exist."
    ),
    faces: str = typer.Option("all", help="Faces to enhance: all, largest, or none (plain)."),
    min_face: float = float_option(
        20.0, "--min-face", min=1.0, help="Smallest face to enhance, low-res pixels wide."
    ),
    weights: Path | None = typer.Option(
        None, show_default="shipped for --scale", help="Network weights (.safetensors)."
    ),
    face_model: Path | None = typer.Option(
        None, help="3D face model (.npz); default: installed, or $FACESR_FACE_MODEL."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    half: bool = typer.Option(
        True,
        help="reduced-precision network: float16 on CUDA, bfloat16 with OpenVINO on CPUs that "
        "have it",
    ),
    runtime: str = typer.Option(
        "auto",
        "--runtime",
        help="Network runtime: auto (OpenVINO on CPU when installed, else torch), torch or "
        "openvino.",
    ),
    input_quality: str = typer.Option(
        "auto",
        "--input-quality",
        help="Network for clean or compressed input; auto reads the stream's bits per pixel "
        "(compressed below 0.5).",
    ),
    batch_size: int = typer.Option(8, min=1, help="Faces per network call."),
    strength: float = float_option(
        1.0, "--strength", min=0.0, max=1.0, help="Blend of SR face (1) and plain upscale (0)."
    ),
    smooth_lag: int = typer.Option(
        5, min=0, max=120, help="Frames of smoother delay (and buffering)."
    ),
    no_smoothing: bool = typer.Option(False, "--no-smoothing", help="Raw per-frame fits."),
    detector: str = typer.Option("hog", help="Face detector: hog or cnn (slower, better)."),
    detect_every: int = typer.Option(
        2, min=1, help="Run the detector every N frames; track between."
    ),
    debug_overlay: Path | None = typer.Option(
        None, help="Also write the low-res video with boxes, ids and landmarks drawn."
    ),
    report: Path | None = typer.Option(None, help="Write per-track and per-stage figures (JSON)."),
    threads: int = typer.Option(
        0,
        min=0,
        max=1024,
        help="CPU threads for torch (0: every core but one on CPU, which is left to the face "
        "analysis; torch's default on CUDA). 1 is faster on a busy machine.",
    ),
    paste: str = typer.Option(
        "crop", "--paste", help="crop (whole SR crop, feathered border) or mesh (face only)."
    ),
    frames: int | None = typer.Option(
        None,
        "--frames",
        min=1,
        show_default="the network's (1 for the shipped weights)",
        help="Frames t-k..t+k the network fuses (odd; 1: each frame alone).",
    ),
    registration: str = typer.Option(
        "mesh",
        "--registration",
        help="How neighbours are registered: mesh (the 3D fits) or box (face boxes alone).",
    ),
    stabilise: float = float_option(
        STRENGTH,
        "--stabilise",
        min=0.0,
        max=0.95,
        help="Weight of the previous frame's face detail where the face holds still "
        "(less flicker on compressed input; 0: off).",
    ),
    start: float | None = typer.Option(
        None,
        parser=time_option,
        metavar="TIME",
        min=0.0,
        show_default="the first frame",
        help="Process from TIME (s or HH:MM:SS.fff); "
        "the output starts at 0 with the audio packets of the span.",
    ),
    end: float | None = typer.Option(
        None,
        parser=time_option,
        metavar="TIME",
        min=0.0,
        show_default="the end",
        help="Process up to TIME (exclusive).",
    ),
    warmup: int = typer.Option(
        WARMUP, min=0, help="Frames run and dropped before --start or a segment (face state)."
    ),
    workers: int = typer.Option(
        1, min=1, help="Segments of IN processed in parallel, cut at keyframes (docs/scale.md)."
    ),
    engine: str = typer.Option("local", help="Workers: local (processes) or ray."),
    ray_address: str | None = typer.Option(
        None, envvar="RAY_ADDRESS", help="Ray cluster to join (default: start a local Ray)."
    ),
    gpus_per_worker: float = float_option(
        0.0, "--gpus-per-worker", min=0.0, help="GPUs per Ray worker (one network each)."
    ),
) -> None:
    """Upscale every frame of IN by --scale into OUT, super-resolving the faces; audio kept.

    Many inputs: facesr-video enhance videos/ *.mp4 --out-dir DIR --scale 4 (rerun to resume).
    """
    if faces not in FACE_CHOICES:
        raise typer.BadParameter(f"use one of {', '.join(FACE_CHOICES)}", param_hint="--faces")
    if paste not in PASTE_MODES:
        raise typer.BadParameter(f"use one of {', '.join(PASTE_MODES)}", param_hint="--paste")
    if runtime not in RUNTIMES:
        raise typer.BadParameter(f"use one of {', '.join(RUNTIMES)}", param_hint="--runtime")
    if input_quality not in QUALITY_CHOICES:
        choices = ", ".join(QUALITY_CHOICES)
        raise typer.BadParameter(f"use one of {choices}", param_hint="--input-quality")
    face_options = (
        None
        if faces == "none"
        else FaceOptions(
            weights=weights,
            input_quality=input_quality,
            face_model=face_model,
            device=device,
            half=half,
            runtime=runtime,
            batch_size=batch_size,
            faces=faces,
            min_face=min_face,
            detector=detector,
            detect_every=detect_every,
            strength=strength,
            smoothing=not no_smoothing,
            smooth_lag=smooth_lag,
            debug_overlay=debug_overlay,
            threads=threads,
            paste=paste,
            frames=check_frames(frames),
            registration=check_registration(registration),
            stabilise=stabilise,
        )
    )
    template = EnhanceOptions(
        input=Path(),  # each input's own, set by run_paths
        output=Path(),
        scale=scale,
        background=background,
        codec=codec,
        crf=crf,
        preset=preset,
        overwrite=overwrite,
        quiet=cli_state.quiet,
        faces=face_options,
        report=report,
        compare=compare,
        span=TimeSpan.between(start, end),
        warmup=warmup,
    )
    spread = ScaleOptions(workers, engine, ray_address, gpus_per_worker)
    if spread.parallel:
        result = run_parallel(paths, out_dir, template, spread)
    else:
        result = run_paths(paths, out_dir, template, recursive)
    if isinstance(result, BatchSummary) and result.failed:
        raise typer.Exit(InputError.exit_code)
