"""What a training run is told (`TrainConfig`), and how it speaks to the person running it."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from facesr_video.dataset.degrade.recipes import CLEAN, DEGRADATIONS, DegradeConfig
from facesr_video.errors import FacesrError, InputError
from facesr_video.sr.config import PRIOR_MODES
from facesr_video.sr.neighbours import REGISTRATIONS

STORED = "stored"
"""`--degradation stored`: train on the low-resolution input the store holds, as extract-priors
made it with its own `--degradation` (whole frames; a video coded as one stream, the way users'
videos are coded), instead of a recipe applied to patches on the fly."""


class TrainingDiverged(FacesrError):
    """The loss became NaN/inf; the last good state was saved."""

    exit_code = 3


@dataclass(frozen=True)
class TrainConfig:
    """How to train. `holdout` lists validation source ids; empty = `val_fraction` of sources."""

    model: str = "sam-light"
    priors: str = "all"
    steps: int = 2000  # the schedule's length, also when a time limit stops the run earlier
    batch_size: int = 16
    patch: int = 32
    lr: float = 2e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05
    mse_weight: float = 0.0
    grad_clip: float = 1.0
    checkpoint_every: int = 500
    eval_every: int = 500
    holdout: tuple[str, ...] = ()
    val_fraction: float = 0.1
    max_val_samples: int = 64
    degrade_on_the_fly: bool = True
    degradation: str = "bicubic"  # a name in degrade.recipes.DEGRADATIONS, or STORED
    # With STORED: the share of training patches degraded on the fly with the clean recipe
    # instead, so one network learns both clean and coded input.
    clean_share: float = 0.0
    scale_augment: tuple[float, float] = (0.35, 1.0)  # shrink range (1, 1 = off), see Augment
    flip: bool = True  # mirrored priors and coefficients (dataset/mirror.py)
    face_model: str | None = None  # for mirroring identity weights; default: the installed one
    init: str | None = None  # weights (.safetensors) to start from, same config
    # (or its single-frame parent: a multi-frame run starts from it with the fusion at zero)
    # Whether the coefficients the network reads include the camera translation (it follows the
    # crop's size and framing, not the face: left out unless asked for)
    translation: bool = False
    frames: int = 1  # the network's window: the current frame and frames - 1 neighbours
    registration: str = "mesh"  # how neighbours are registered: mesh (3D fits) or box
    # Train only parameters whose names start with one of these (empty: all). `("fusion.",)`
    # teaches a multi-frame network its neighbours while the single-frame parent stays as it was.
    trainable: tuple[str, ...] = ()
    # Samples without neighbours (stills) get moved copies of themselves with exact motion.
    synthetic_neighbours: bool = False
    ema_decay: float = 0.999  # 0 = no EMA; the EMA is what is validated and exported
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    amp: bool = True
    resume: bool = False
    # Seconds from the start after which the run stops at the next step, checkpointed and exported
    # (None: no limit). The schedule stays the one for `steps`, so --resume continues it.
    time_limit: float | None = None
    quiet: bool = False
    expected_layout_version: str | None = None

    @property
    def on_the_fly(self) -> bool:
        """Whether patches are degraded at train time (False: the store's own input is used)."""
        return self.degrade_on_the_fly and self.degradation != STORED

    @property
    def degrade_config(self) -> DegradeConfig:
        """The recipe applied on the fly (the clean one where the stored input is used)."""
        return DEGRADATIONS.get(self.degradation, CLEAN)

    def __post_init__(self) -> None:
        if self.priors not in PRIOR_MODES:
            raise InputError(f"--priors must be one of {', '.join(PRIOR_MODES)}")
        if self.steps <= 0 or self.batch_size <= 0:
            raise InputError("--steps and --batch-size must be positive")
        if self.degradation not in DEGRADATIONS and self.degradation != STORED:
            names = ", ".join([*DEGRADATIONS, STORED])
            raise InputError(f"--degradation must be one of {names}, got {self.degradation!r}")
        if not 0.0 <= self.clean_share <= 1.0:
            raise InputError(f"--clean-share must be in [0, 1], got {self.clean_share}")
        if self.clean_share and self.degradation != STORED:
            raise InputError(
                "--clean-share mixes clean patches into the stored input",
                hint="use it with --degradation stored",
            )
        if self.patch <= 0 or self.patch % 8:
            raise InputError(f"--patch must be a positive multiple of 8, got {self.patch}")
        low, high = self.scale_augment
        if not 0.05 <= low <= high <= 1.0:
            raise InputError(
                f"--scale-augment must be LOW,HIGH with 0.05 <= LOW <= HIGH <= 1, got {low},{high}"
            )
        if self.frames < 1 or self.frames % 2 == 0:
            raise InputError(f"--frames must be odd (1, 3, 5, ...), got {self.frames}")
        if self.registration not in REGISTRATIONS:
            raise InputError(f"--registration must be one of {', '.join(REGISTRATIONS)}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise InputError(f"--time-limit must be positive (seconds), got {self.time_limit}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(f"--ema must be in [0, 1), got {self.ema_decay}")


def say(config: TrainConfig, line: str) -> None:
    """A line for the person running the training (stderr), unless `quiet`."""
    if not config.quiet:
        print(line, file=sys.stderr)
