"""`facesr-video models list | check | install`: face model and network weights here."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.state import cli_state
from facesr_video.errors import ModelError
from facesr_video.morph import ict_registry
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.install import (
    ENV_FACE_MODEL,
    default_model_path,
    install_from,
    install_ict,
    resolve_face_model_path,
)
from facesr_video.progress import make_progress

models_app = typer.Typer(help="List, install and check the face model and network weights.")
app.add_typer(models_app, name="models")

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def _face_model_line(explicit: Path | None) -> tuple[str, bool]:
    try:
        path = resolve_face_model_path(explicit)
    except ModelError as error:
        return f"face model: not installed ({error.one_line()})", False
    how = (
        "--face-model"
        if explicit
        else (f"${ENV_FACE_MODEL}" if os.environ.get(ENV_FACE_MODEL) else "installed")
    )
    return f"face model: {path} [{how}]", True


def _weights() -> list[Path]:
    return sorted(WEIGHTS_DIR.glob("*.safetensors")) if WEIGHTS_DIR.is_dir() else []


@models_app.command("list")
def list_models(
    face_model: Path | None = typer.Option(None, "--face-model", help="Face model .npz to use."),
) -> None:
    """Show which face model and network weights are installed, and where."""
    line, _ = _face_model_line(face_model)
    typer.echo(line)
    weights = _weights()
    if not weights:
        typer.echo(f"network weights: none in {WEIGHTS_DIR}")
    for path in weights:
        typer.echo(f"network weights: {path} ({path.stat().st_size / 1e6:.1f} MB)")


@models_app.command("check")
def check_models(
    face_model: Path | None = typer.Option(None, "--face-model", help="Face model .npz to use."),
) -> None:
    """Load and validate the face model and every weights file; non-zero exit if one is bad."""
    path = resolve_face_model_path(face_model)
    model = load_face_model(path)
    typer.echo(
        f"face model ok: {path}: {model.num_vertices} vertices, {model.num_identity} identity, "
        f"{model.num_expression} expression modes, {len(model.triangles)} triangles; {model.source}"
    )
    from safetensors import safe_open

    for weights in _weights():
        try:
            with safe_open(str(weights), framework="pt") as handle:
                count = len(list(handle.keys()))
        except Exception as error:  # safetensors raises its own error types
            raise ModelError(
                f"weights {weights} are unreadable ({error})", "reinstall the package"
            ) from error
        typer.echo(f"weights ok: {weights}: {count} tensors")


@models_app.command("install")
def install(
    source: Path | None = typer.Option(
        None,
        "--from",
        help="Install offline from an ICT-FaceKit FaceXModel folder, a face model .npz or a "
        "BFM_model_front.mat, instead of downloading.",
    ),
    retries: int = typer.Option(3, help="Download attempts per file after the first."),
    verify: bool = typer.Option(
        True, help="Check an ICT-FaceKit folder given to --from against the pinned commit."
    ),
) -> None:
    """Download ICT-FaceKit Light (pinned commit, checksums verified) and convert it once."""
    if source is not None:
        path = install_from(source, verify=verify)
    else:
        unverified = [n for n in ict_registry.FILES if n not in ict_registry.SHA256]
        if cli_state.verbose:
            typer.echo(
                f"{len(unverified)} files have no pinned byte checksum; shape files are checked "
                "by content fingerprint",
                err=True,
            )
        with make_progress("files", cli_state.quiet) as progress:
            task = progress.add_task("ICT-FaceKit", total=len(ict_registry.FILES))
            path = install_ict(retries=retries, on_file=lambda _: progress.advance(task))
    typer.echo(f"installed face model: {path}")
    if path != default_model_path():
        typer.echo(f"(default location is {default_model_path()})")
