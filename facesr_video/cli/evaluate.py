"""`facesr-video evaluate HR... --scale 4 --out DIR`: builds EvaluateOptions, calls evaluate()."""

from __future__ import annotations

from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.options import check_frames, check_registration, float_option
from facesr_video.cli.state import cli_state
from facesr_video.enhance.stabilise import STRENGTH
from facesr_video.eval.evaluate import EvaluateOptions, evaluate


@app.command("evaluate")
def evaluate_command(
    inputs: list[Path] = typer.Argument(
        ..., help="High-resolution videos, images, or folders of them.", show_default=False
    ),
    scale: int = typer.Option(
        ..., "--scale", "-s", help="Factor to shrink and restore: 2, 4 or 8."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Report folder (report.md, report.json)."),
    weights: Path | None = typer.Option(None, help="Network weights; default: shipped ones."),
    weights_no_priors: Path | None = typer.Option(
        None, help="Also evaluate these weights (a --priors none network), as ours-no-priors."
    ),
    no_smoothing_too: bool = typer.Option(
        False, "--no-smoothing-too", help="Also evaluate ours with raw per-frame fits."
    ),
    prior_controls: bool = typer.Option(
        False,
        "--prior-controls",
        help="Also evaluate ours given the mean face's priors in each face's pose "
        "(ours-generic-priors) and zero priors (ours-zero-priors): what the priors add.",
    ),
    face_model: Path | None = typer.Option(
        None, help="3D face model (.npz); default: installed, or $FACESR_FACE_MODEL."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    min_face: float = float_option(
        20.0,
        "--min-face",
        min=1.0,
        help="Smallest face enhanced and scored, low-resolution pixels wide.",
    ),
    smooth_lag: int = typer.Option(5, min=0, max=120, help="Frames of smoother delay."),
    max_frames: int | None = typer.Option(
        None, min=1, show_default="all", help="Evaluate at most N frames per clip."
    ),
    samples: int = typer.Option(3, min=0, help="Frames per clip shown as picture strips."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a report in --out."),
    degradation: str = typer.Option(
        "bicubic",
        "--degradation",
        help="How the LR clip is made: bicubic (clean), or h264 (then libx264 CRF 23).",
    ),
    input_quality: str = typer.Option(
        "auto",
        "--input-quality",
        help="Network for clean or compressed input; auto: as enhance decides for this "
        "--degradation (bicubic: clean, h264: compressed).",
    ),
    paste: str = typer.Option(
        "crop", "--paste", help="crop (whole SR crop, feathered border) or mesh (face only)."
    ),
    runtime: str = typer.Option("auto", "--runtime", help="As enhance --runtime."),
    frames: int | None = typer.Option(
        None,
        "--frames",
        min=1,
        show_default="the network's (1 for the shipped weights)",
        help="Frames the network sees (odd; 1: no neighbours).",
    ),
    registration: str = typer.Option(
        "mesh", "--registration", help="Neighbours registered by the 3D fits (mesh) or boxes."
    ),
    weights_single_frame: Path | None = typer.Option(
        None, help="Also evaluate these single-frame weights, as ours-single-frame."
    ),
    skip_one_frame: bool = typer.Option(
        False,
        "--skip-one-frame",
        help="With a multi-frame network, do not also run it without neighbours (ours-1-frame).",
    ),
    stabilise: float = float_option(
        STRENGTH, "--stabilise", min=0.0, max=0.95, help="As enhance --stabilise (0: off)."
    ),
    jobs: int = typer.Option(
        1,
        "--jobs",
        "-j",
        min=1,
        help="Score clips in N processes (each loads the network; about one per core). The "
        "report is the same, but each clip's fps is measured beside the others.",
    ),
) -> None:
    """Shrink each clip by --scale, restore it with bicubic and ours, score the faces, report."""
    evaluate(
        EvaluateOptions(
            inputs=tuple(inputs),
            out=out,
            scale=scale,
            weights=weights,
            weights_no_priors=weights_no_priors,
            no_smoothing_too=no_smoothing_too,
            prior_controls=prior_controls,
            face_model=face_model,
            device=device,
            min_face=min_face,
            smooth_lag=smooth_lag,
            max_frames=max_frames,
            samples=samples,
            overwrite=overwrite,
            degradation=degradation,
            input_quality=input_quality,
            runtime=runtime,
            paste=paste,
            frames=check_frames(frames),
            registration=check_registration(registration),
            weights_single_frame=weights_single_frame,
            one_frame_too=not skip_one_frame,
            stabilise=stabilise,
            jobs=jobs,
            quiet=cli_state.quiet,
        )
    )
