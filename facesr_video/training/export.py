"""The end of a run: RUN/model.safetensors (the EMA weights, with the recipe in their metadata)
and RUN/validation.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facesr_video.sr.network import SAMNet
from facesr_video.sr.weights import save_model
from facesr_video.training.config import TrainConfig
from facesr_video.training.data import TrainingData
from facesr_video.training.validation import EvalResult

WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class RunRecord:
    """What a finished run did, for the recipe in the weights' metadata."""

    stores: tuple[Path, ...]
    steps: int
    world_size: int
    device: str  # the GPU's name, or "cpu"
    seconds: float
    parameters: int
    last_loss: float
    flips: bool  # whether the training patches were flipped (see data.coefficient_mirror_for)
    evals: tuple[EvalResult, ...]


def recipe(config: TrainConfig, data: TrainingData, record: RunRecord) -> dict[str, Any]:
    """How the weights were made: the config, the data, the run and its validation."""
    return {
        "train_config": asdict(config),
        "stores": [str(s) for s in record.stores],
        "store_samples": len(data.reader),
        "train_samples": len(data.train_idx),
        "flips": record.flips,
        "holdout_sources": data.holdout,
        "steps": record.steps,
        "world_size": record.world_size,
        "device": record.device,
        "seconds_this_run": round(record.seconds, 1),
        "parameters": record.parameters,
        "last_loss": record.last_loss,
        "validation": [asdict(e) for e in record.evals],
    }


def export_run(
    out_dir: Path, weights: SAMNet, config: TrainConfig, data: TrainingData, record: RunRecord
) -> Path:
    """Write RUN/model.safetensors (`weights`, with the channel names it reads) and
    RUN/validation.json; returns the weights' path."""
    path = out_dir / WEIGHTS
    names = tuple(data.layout.channels[i] for i in data.channels)
    save_model(weights, path, data.layout.version, names, recipe(config, data, record))
    (out_dir / "validation.json").write_text(
        json.dumps([asdict(e) for e in record.evals], indent=1, default=str)
    )
    return path
