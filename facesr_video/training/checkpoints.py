"""RUN/checkpoint.pt: everything a resumed run needs, written atomically, never from bad weights.

A checkpoint holds the model, its EMA, the optimiser, the schedule, the step and the validations
so far (so a resumed run reports its whole history), with the network's config and the store's
prior layout so a resume on another model or store is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from facesr_video.errors import ModelError, OutputError
from facesr_video.files import write_whole
from facesr_video.sr.network import SAMNet
from facesr_video.training.config import TrainConfig
from facesr_video.training.ema import ExponentialAverage
from facesr_video.training.validation import EvalResult

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainingState:
    """What changes as a run trains, and what it must match to be resumed."""

    model: SAMNet
    ema: ExponentialAverage
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    layout_version: str  # the store's prior layout
    config: TrainConfig
    evals: list[EvalResult] = field(default_factory=list)  # validations so far, oldest first

    def to_checkpoint(self, step: int) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "ema_updates": self.ema.updates,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": step,
            "validation": [_eval_record(e) for e in self.evals],
            "config": self.model.config.to_json(),
            "layout": self.layout_version,
            "train_config": json.dumps(asdict(self.config), default=str),
        }

    def restore(self, path: Path) -> int:
        """Load RUN/checkpoint.pt into this state after checking it fits; returns its step."""
        state = load_checkpoint(path)
        model_config = self.model.config
        if state["config"] != model_config.to_json():
            raise ModelError(
                f"checkpoint {path} is for another model or prior mode",
                hint="resume with the same --model/--priors/--scale, or use another --out",
            )
        if state["layout"] != self.layout_version and model_config.prior_mode != "none":
            raise ModelError(
                f"checkpoint was trained on prior layout {state['layout']!r}, the store has "
                f"{self.layout_version!r}",
                hint="resume on the store it was trained on",
            )
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state.get("ema", state["model"]), int(state.get("ema_updates", 0)))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.evals = [_eval_result(record) for record in state.get("validation", [])]
        return int(state["step"])


def _eval_record(result: EvalResult) -> dict[str, Any]:
    """An EvalResult as plain values (a checkpoint is read back with torch's weights_only)."""
    record = asdict(result)
    record["sheet"] = None if result.sheet is None else str(result.sheet)
    return record


def _eval_result(record: dict[str, Any]) -> EvalResult:
    sheet = record.get("sheet")
    return EvalResult(**{**record, "sheet": None if sheet is None else Path(sheet)})


def start_step(state: TrainingState, out_dir: Path) -> int:
    """The step to start from: the checkpoint's with --resume (loaded into `state`), else 0.

    Without --resume a folder that already holds a run is refused rather than overwritten.
    """
    path = out_dir / CHECKPOINT
    if state.config.resume:
        return state.restore(path)
    if path.exists():
        raise OutputError(
            f"{out_dir} already holds a training run",
            hint="pass --resume to continue it, or choose another --out",
        )
    return 0


def save_checkpoint(path: Path, state: dict[str, Any]) -> bool:
    """Atomic torch.save; refuses (returns False) when any weight is not finite."""
    if not all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point()):
        return False
    write_whole(path, lambda partial: torch.save(state, partial))
    return True


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read RUN/checkpoint.pt; missing or unreadable -> ModelError saying what to do."""
    if not path.is_file():
        raise ModelError(
            f"no checkpoint to resume from: {path}", hint="run without --resume to start anew"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("model", "optimizer", "step", "config", "layout"):
            state[key]  # noqa: B018
    except Exception as error:  # torch raises many kinds for a damaged zip/pickle
        raise ModelError(
            f"checkpoint is corrupt or incomplete: {path} ({type(error).__name__})",
            hint="restore it from a copy or start a new run in another --out",
        ) from error
    return state


def load_step(path: Path) -> int:
    """The step a checkpoint was taken at."""
    return int(load_checkpoint(path)["step"])
