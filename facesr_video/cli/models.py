"""`facesr-video models list | check | install`: face model and network weights here."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.state import cli_state
from facesr_video.enhance.prepare import (
    WEIGHTS_DIR,
    check_model_matches_weights,
    check_weights,
    installed_weights,
    shipped_role,
)
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
from facesr_video.sr.weights import read_info

models_app = typer.Typer(help="List, install and check the face model and network weights.")
app.add_typer(models_app, name="models")


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


@models_app.command("list")
def list_models(
    face_model: Path | None = typer.Option(None, "--face-model", help="Face model .npz to use."),
) -> None:
    """Show which face model and network weights are installed, and where."""
    line, _ = _face_model_line(face_model)
    typer.echo(line)
    weights = installed_weights()
    if not weights:
        typer.echo(f"network weights: none in {WEIGHTS_DIR}")
    for path in weights:
        typer.echo(f"network weights: {path} ({path.stat().st_size / 1e6:.1f} MB){_about(path)}")


def _about(path: Path) -> str:
    """What a listed weights file is for and is, as a suffix of its line, e.g.
    "; x4, compressed input: direct output, priors all"."""
    try:
        info = read_info(path)
    except (ModelError, OSError, ValueError):
        return "; unreadable (run `facesr-video models check`)"
    role = shipped_role(path)
    config = info.config
    what = f"{config.upsampler} output, priors {config.prior_mode}"
    return f"; {role}: {what}" if role else f"; x{config.scale}, {what}"


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
    files = installed_weights()
    bad = 0
    for weights in files:
        try:  # the reader enhance uses: metadata, every tensor, prior layout, scale
            info = check_weights(weights)
            check_model_matches_weights(model, info)
        except ModelError as error:
            bad += 1
            typer.echo(f"weights BAD: {weights}: {error.one_line()}")
            continue
        config = info.config
        typer.echo(
            f"weights ok: {weights}: x{config.scale}, priors {config.prior_mode}, "
            f"layout {info.layout_version}"
        )
    if bad:
        raise ModelError(
            f"{bad} of {len(files)} weights files failed the check (listed above)",
            "reinstall facesr-video, or re-export the weights with `facesr-video train`",
        )


@models_app.command("install")
def install(
    source: Path | None = typer.Option(
        None,
        "--from",
        help="Install offline from an ICT-FaceKit FaceXModel folder, a face model .npz or a "
        "BFM_model_front.mat, instead of downloading.",
    ),
    retries: int = typer.Option(3, min=0, help="Download attempts per file after the first."),
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
