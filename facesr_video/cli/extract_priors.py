"""`facesr-video extract-priors INPUT... --out STORE --scale S`: builds ExtractOptions, runs it."""

from __future__ import annotations

from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.options import float_option
from facesr_video.cli.state import cli_state


@app.command("extract-priors")
def extract_priors_command(
    inputs: list[Path] = typer.Argument(
        ..., help="Video files and folders of images or videos.", show_default=False
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Store folder (created, or resumed)."),
    scale: int = typer.Option(..., "--scale", "-s", help="4 or 8."),
    face_model: Path | None = typer.Option(
        None, "--face-model", help="Face model .npz (default: the installed one)."
    ),
    every: int = typer.Option(1, "--every", min=1, help="Take every N-th video frame."),
    max_frames: int | None = typer.Option(
        None,
        "--max-frames",
        min=1,
        show_default="all",
        help="At most N frames per video (after --every).",
    ),
    degradation: str = typer.Option(
        "realistic",
        "--degradation",
        help="How the LR input the fit sees is made, drawn once per source: realistic (blur, "
        "noise, JPEG), video (clean or H.264), h264, mixed, or bicubic (clean, as evaluate).",
    ),
    min_face: float = float_option(
        20.0, "--min-face", min=1.0, help="Skip faces narrower than this in the LR frame (px)."
    ),
    detect_every: int = typer.Option(
        1, "--detect-every", min=1, help="Run the detector every N-th frame; track in between."
    ),
    min_confidence: float = float_option(
        0.3,
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Skip faces whose smoothed fit is trusted less.",
    ),
    overlay: bool = typer.Option(
        False, "--overlay", help="Also write an overlay video (mesh + landmarks) per video."
    ),
    seed: int = typer.Option(
        0,
        "--seed",
        min=0,
        help="Seed of each source's degradation draw (another seed, another draw: a second "
        "store to train with the first).",
    ),
    device: str = typer.Option("auto", "--device", help="Render on auto, cpu or cuda."),
    shard_size: int = typer.Option(256, "--shard-size", min=1, help="Samples per store shard."),
    neighbours: int = typer.Option(
        0,
        "--neighbours",
        min=0,
        max=4,
        help="Store frames t-K..t+K with each video face, registered by the 3D fits and by the "
        "boxes (for `train --frames`); 0: single-frame store.",
    ),
    sample_every: int = typer.Option(
        1,
        "--sample-every",
        min=1,
        help="Store every N-th analysed frame's faces (every frame is still fitted, so the "
        "neighbours of a sample are the frames next to it).",
    ),
    jobs: int = typer.Option(
        1,
        "--jobs",
        "-j",
        min=1,
        max=256,
        help="Analyse the inputs in N processes (split by file; about one per core), merged into "
        "one store with the same samples, stored process by process (OUT/.parts while running).",
    ),
) -> None:
    """Fit the 3D face model to every face and store aligned crops, coefficients and priors."""
    from facesr_video.dataset.extract import extract_priors
    from facesr_video.dataset.extract_jobs import extract_in_processes
    from facesr_video.dataset.extract_options import ExtractOptions

    options = ExtractOptions(
        inputs=tuple(inputs),
        out=out,
        scale=scale,
        face_model=face_model,
        every=every,
        max_frames=max_frames,
        degradation=degradation,
        min_face=min_face,
        detect_every=detect_every,
        min_confidence=min_confidence,
        overlay=overlay,
        seed=seed,
        device=device,
        shard_size=shard_size,
        neighbours=neighbours,
        sample_every=sample_every,
        quiet=cli_state.quiet,
    )
    summary = extract_priors(options) if jobs == 1 else extract_in_processes(options, jobs)
    if not cli_state.quiet:
        typer.echo(f"extract-priors: {summary.one_line()}")
