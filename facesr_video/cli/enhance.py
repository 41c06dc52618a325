"""`facesr-video enhance IN OUT --scale 4`: builds EnhanceOptions and calls enhance()."""

from __future__ import annotations

from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.state import cli_state
from facesr_video.pipeline.enhance import EnhanceOptions, enhance


@app.command("enhance")
def enhance_command(
    input: Path = typer.Argument(..., help="Input video.", show_default=False),
    output: Path = typer.Argument(..., help="Output video (.mp4, .mkv, .mov, .webm)."),
    scale: int = typer.Option(..., "--scale", "-s", help="Upscaling factor: 2, 4 or 8."),
    background: str = typer.Option("bicubic", help="Plain upscaler: bicubic or lanczos."),
    codec: str = typer.Option(
        "libx264", help="Video encoder: libx264, libx265, libsvtav1 or h264_nvenc."
    ),
    crf: int | None = typer.Option(None, help="Quality (lower is better); codec default if unset."),
    preset: str | None = typer.Option(None, help="Encoder speed preset, e.g. medium, veryfast."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """Upscale every frame of IN by --scale into OUT, keeping timestamps and audio."""
    enhance(
        EnhanceOptions(
            input=input,
            output=output,
            scale=scale,
            background=background,
            codec=codec,
            crf=crf,
            preset=preset,
            overwrite=overwrite,
            quiet=cli_state.quiet,
        )
    )
