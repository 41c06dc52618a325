"""`facesr-video train STORE --scale S --out RUN`: train the SAM network on a priors store.

Under `torchrun --nproc_per_node N -m facesr_video train ...` it runs DistributedDataParallel.
"""

from __future__ import annotations

from pathlib import Path

import typer

from facesr_video.cli import app
from facesr_video.cli.options import finite_in, float_option
from facesr_video.cli.state import cli_state
from facesr_video.errors import InputError
from facesr_video.render.layout import LAYOUT_VERSION
from facesr_video.sr.config import VARIANTS
from facesr_video.training.config import TrainConfig, TrainingDiverged
from facesr_video.training.loop import train
from facesr_video.training.validation import validation_line

DEFAULTS = TrainConfig()  # every default below is TrainConfig's, so the two cannot drift


@app.command(
    "train",
    epilog="Exit codes: 0 done (also when --time-limit stopped it); 2 error; "
    f"{TrainingDiverged.exit_code} the loss became NaN or infinite (the last good state is in "
    "RUN/checkpoint.pt: lower --lr, then --resume).",
)
def train_command(
    store: list[Path] = typer.Argument(
        ...,
        help="A store made by `facesr-video extract-priors`, or several trained as one (the same "
        "inputs extracted with another --seed: another draw of each one's degradation).",
    ),
    scale: int = typer.Option(
        ..., "--scale", "-s", help="2, 4 or 8: the store's factor or one dividing it."
    ),
    degradation: str = typer.Option(
        DEFAULTS.degradation,
        help="Low-res inputs made on the fly: bicubic (clean), video (clean or H.264 coded as a "
        "clip), h264, video-intra / h264-intra (each patch one intra picture), mixed, realistic; "
        "or stored: the input extract-priors made with its own --degradation (whole frames).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoint, weights, PNGs."),
    model: str = typer.Option(
        DEFAULTS.model,
        "--model",
        help=f"Network variant ({', '.join(VARIANTS)}).",
    ),
    steps: int = typer.Option(DEFAULTS.steps, "--steps", min=1, help="Total optimiser steps."),
    batch_size: int = typer.Option(
        DEFAULTS.batch_size, "--batch-size", min=1, help="Patches per step (per process)."
    ),
    patch: int = typer.Option(
        DEFAULTS.patch, "--patch", min=8, help="LR patch size in pixels (multiple of 8)."
    ),
    lr: float = float_option(
        DEFAULTS.lr, "--lr", min=0.0, max=1.0, help="Peak learning rate (AdamW, cosine schedule)."
    ),
    resume: bool = typer.Option(
        DEFAULTS.resume, "--resume", help="Continue from RUN/checkpoint.pt."
    ),
    time_limit: float | None = typer.Option(
        DEFAULTS.time_limit,
        "--time-limit",
        min=1.0,
        parser=finite_in(1.0, None),
        metavar="SECONDS",
        show_default="none",
        help="Stop after SECONDS, at the end of a step: checkpoint, validation and exported "
        "weights, exit code 0. The learning-rate schedule stays the one for --steps, so --resume "
        "continues it.",
    ),
    priors: str = typer.Option(DEFAULTS.priors, "--priors", help="none | render | all."),
    device: str = typer.Option(DEFAULTS.device, "--device", help="auto, cpu, cuda or cuda:N."),
    eval_every: int = typer.Option(
        DEFAULTS.eval_every, "--eval-every", min=1, help="Validate every N steps."
    ),
    checkpoint_every: int = typer.Option(
        DEFAULTS.checkpoint_every, "--checkpoint-every", min=1, help="Checkpoint every N."
    ),
    holdout: list[str] = typer.Option(
        [], "--holdout", help="Source id or glob held out for validation (repeatable)."
    ),
    workers: int = typer.Option(
        DEFAULTS.num_workers, "--workers", min=0, help="DataLoader worker processes."
    ),
    seed: int = typer.Option(
        DEFAULTS.seed, "--seed", min=0, help="Seed of patches, degradations and init."
    ),
    init: Path | None = typer.Option(
        None,
        "--init",
        help="Start from these weights (same model and priors; another scale: shared layers).",
    ),
    mse_weight: float = float_option(
        DEFAULTS.mse_weight,
        "--mse-weight",
        min=0.0,
        help="Add this times the mean squared error to the L1 loss: a fine-tune that weighs "
        "large errors more, as PSNR does (20 puts the two terms on a par near convergence).",
    ),
    clean_share: float = float_option(
        DEFAULTS.clean_share,
        "--clean-share",
        min=0.0,
        max=1.0,
        help="With --degradation stored: this share of the patches gets the clean (bicubic) "
        "input made on the fly instead, so one network serves clean and compressed video.",
    ),
    ema: float = float_option(
        DEFAULTS.ema_decay,
        "--ema",
        min=0.0,
        max=1.0,
        help="EMA decay of the exported weights (0: none).",
    ),
    flip: bool = typer.Option(
        DEFAULTS.flip, "--flip/--no-flip", help="Mirror samples with mirrored priors."
    ),
    translation: bool = typer.Option(
        DEFAULTS.translation,
        "--translation",
        help="Let the network read the camera translation among the coefficients (left out by "
        "default: it follows the crop's size, not the face).",
    ),
    scale_augment: str = typer.Option(
        ",".join(str(v) for v in DEFAULTS.scale_augment),
        "--scale-augment",
        help="LOW,HIGH range of the random shrink of faces (1,1: off).",
    ),
    face_model: Path | None = typer.Option(
        None, "--face-model", help="Face model of the store (to mirror identity weights)."
    ),
    frames: int = typer.Option(
        DEFAULTS.frames,
        "--frames",
        min=1,
        help="Frames the network sees: the current one and its neighbours (odd; > 1 needs a "
        "store made with extract-priors --neighbours).",
    ),
    trainable: list[str] = typer.Option(
        [],
        "--trainable",
        help="Train only the parts whose parameter names start with this (repeatable), e.g. "
        "fusion: a multi-frame network learns its neighbours, the rest stays its parent's.",
    ),
    synthetic_neighbours: bool = typer.Option(
        False,
        "--synthetic-neighbours",
        help="Faces stored without neighbours (stills) get copies of themselves moved by "
        "sub-pixel steps, with exact motion.",
    ),
    registration: str = typer.Option(
        DEFAULTS.registration,
        "--registration",
        help="How neighbours are registered: mesh (the 3D fits) or box (the face boxes alone).",
    ),
) -> None:
    """Train the 3D-prior-guided SR network; writes RUN/model.safetensors."""
    config = TrainConfig(
        degradation=degradation,
        model=model,
        priors=priors,
        steps=steps,
        batch_size=batch_size,
        patch=patch,
        lr=lr,
        resume=resume,
        time_limit=time_limit,
        device=device,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        holdout=tuple(holdout),
        num_workers=workers,
        seed=seed,
        init=str(init) if init else None,
        ema_decay=ema,
        mse_weight=mse_weight,
        clean_share=clean_share,
        flip=flip,
        translation=translation,
        scale_augment=_pair(scale_augment, "--scale-augment"),
        face_model=str(face_model) if face_model else None,
        frames=frames,
        registration=registration,
        synthetic_neighbours=synthetic_neighbours,
        trainable=tuple(t if t.endswith(".") else t + "." for t in trainable),
        quiet=cli_state.quiet,
        expected_layout_version=LAYOUT_VERSION,  # the store must hold the priors enhance renders
    )
    result = train(store, scale, out, config)
    if result.out_of_time:
        typer.echo(
            f"time limit {time_limit:g} s reached: stopped at step {result.steps} of "
            f"{steps}; --resume continues it"
        )
    if result.evals:
        typer.echo(validation_line(result.evals[-1]))
    typer.echo(str(result.weights))


def _pair(text: str, flag: str) -> tuple[float, float]:
    """'0.35,1' -> (0.35, 1.0); anything else is one error line naming the flag."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"{flag} must be LOW,HIGH (two numbers), got {text!r}") from None
    return low, high
