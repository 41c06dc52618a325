"""Training loop of the SAM network on a priors store: single process, or DDP under torchrun.

Resumable and hard to lose work with: a checkpoint (model, optimiser, schedule, step) is written
atomically to RUN/checkpoint.pt every `checkpoint_every` steps and never from non-finite weights
(checkpoints.py); a non-finite loss stops the run with its step number after saving the last good
state. Data is a function of the step (data.py), so a resumed run continues exactly as an
uninterrupted one. Rank 0 validates the EMA weights (validation.py: PSNR/SSIM against bicubic on
held-out sources, and a sample sheet PNG) and exports RUN/model.safetensors with the recipe in
its metadata (export.py).

A time limit (`TrainConfig.time_limit`) ends a run early as if its last step had come: the
checkpoint, a validation and the exported EMA weights, so a run on a machine lent for a fixed
time always leaves usable weights. The schedule stays the one for `steps`, so `--resume`
continues it where it stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from facesr_video.dataset.patches import SRBatch
from facesr_video.device import resolve_device
from facesr_video.files import NamedPath, check_output_folder
from facesr_video.progress import make_progress
from facesr_video.sr.network import SAMNet, count_parameters
from facesr_video.training.checkpoints import (
    CHECKPOINT,
    TrainingState,
    load_step,
    save_checkpoint,
    start_step,
)
from facesr_video.training.config import TrainConfig, TrainingDiverged, say
from facesr_video.training.data import (
    TrainingData,
    coefficient_mean,
    open_training_data,
    training_batches,
)
from facesr_video.training.distributed import Distributed, end_distributed, setup_distributed
from facesr_video.training.ema import ExponentialAverage
from facesr_video.training.export import WEIGHTS, RunRecord, export_run
from facesr_video.training.network import build_model, forward, trainable_parameters
from facesr_video.training.validation import EvalResult, validate, validation_line


@dataclass(frozen=True)
class TrainResult:
    weights: Path
    checkpoint: Path
    steps: int
    last_loss: float
    seconds: float
    evals: tuple[EvalResult, ...] = field(default_factory=tuple)
    out_of_time: bool = False  # stopped by the time limit before the last step


@dataclass(frozen=True)
class Deadline:
    """When a run must stop: `limit` seconds after `started` on the monotonic clock (no limit:
    None). Read through this module's `monotonic`, so a test can move the clock."""

    limit: float | None
    started: float

    @classmethod
    def start(cls, limit: float | None) -> Deadline:
        return cls(limit, monotonic())

    def passed(self) -> bool:
        return self.limit is not None and monotonic() - self.started >= self.limit


def train(
    store: Path | Sequence[Path], scale: int, out_dir: Path, config: TrainConfig
) -> TrainResult:
    """Train (or resume) a SAM model on `store` (or several stores as one training set);
    returns where the weights are and the figures."""
    stores = [Path(store)] if isinstance(store, (str, Path)) else [Path(s) for s in store]
    started = time.perf_counter()
    deadline = Deadline.start(config.time_limit)
    check_output_folder(NamedPath("--out", Path(out_dir)), [NamedPath("store", s) for s in stores])
    device = str(resolve_device(config.device))
    ctx = setup_distributed("cuda" if device.startswith("cuda") else "cpu")
    if device == "cuda" and ctx.world_size > 1:
        device = f"cuda:{ctx.local_rank}"
        torch.cuda.set_device(device)
    try:
        run_dir = Path(out_dir)
        return _train(stores, scale, run_dir, config, device, ctx, started, deadline)
    finally:
        end_distributed(ctx)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio` at the last step."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    t = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def _train(
    stores: list[Path],
    scale: int,
    out_dir: Path,
    config: TrainConfig,
    device: str,
    ctx: Distributed,
    started: float,
    deadline: Deadline,
) -> TrainResult:
    data = open_training_data(stores, scale, config)
    model = build_model(
        config,
        scale,
        len(data.channels),
        data.layout.coeff_dim,
        device,
        coeff_mean=lambda: coefficient_mean(data),
    )
    ema = ExponentialAverage(model, config.ema_decay)
    trained = trainable_parameters(model, config.trainable)
    optimizer = torch.optim.AdamW(
        trained, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99)
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    state = TrainingState(model, ema, optimizer, scheduler, data.layout.version, config)
    start = start_step(state, out_dir)
    if ctx.main:
        out_dir.mkdir(parents=True, exist_ok=True)
    ctx.barrier()

    net: torch.nn.Module = model
    if ctx.world_size > 1:
        net = DistributedDataParallel(
            model, device_ids=[ctx.local_rank] if device.startswith("cuda") else None
        )
    dataset, loader = training_batches(data, config, model.config, start, ctx, device)
    run = _Run(config, ctx, device, out_dir, data, state, net, trained, deadline)
    step, last_loss, evals = _run_steps(run, loader, start, scale)

    seconds = time.perf_counter() - started
    weights = out_dir / WEIGHTS
    if ctx.main:
        record = RunRecord(
            stores=tuple(stores),
            steps=step,
            world_size=ctx.world_size,
            device=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
            seconds=seconds,
            parameters=count_parameters(model),
            last_loss=last_loss,
            flips=dataset.can_flip,
            evals=tuple(evals),
        )
        weights = export_run(out_dir, ema.model, config, data, record)
    ctx.barrier()
    stopped = step < config.steps
    return TrainResult(
        weights, out_dir / CHECKPOINT, step, last_loss, seconds, tuple(evals), stopped
    )


@dataclass
class _Run:
    """One process's training run, once its model, optimiser and data are built."""

    config: TrainConfig
    ctx: Distributed
    device: str
    out_dir: Path
    data: TrainingData
    state: TrainingState
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    trained: list[torch.nn.Parameter]
    deadline: Deadline

    @property
    def model(self) -> SAMNet:
        return self.state.model

    @property
    def checkpoint(self) -> Path:
        return self.out_dir / CHECKPOINT

    def loss(self, batch: SRBatch) -> torch.Tensor:
        """L1 (plus `mse_weight` x MSE) of the network's output on `batch`, in training mode."""
        self.net.train()
        use_amp = self.config.amp and self.device.startswith("cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = forward(self.net, self.model.config, batch)
        out = out.float()
        loss = F.l1_loss(out, batch.hr)
        if self.config.mse_weight:
            loss = loss + self.config.mse_weight * F.mse_loss(out, batch.hr)
        return loss

    def optimise(self, loss: torch.Tensor) -> None:
        """One optimiser step on `loss` (gradients clipped), then the schedule and the EMA."""
        self.state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.trained, self.config.grad_clip)
        self.state.optimizer.step()
        self.state.scheduler.step()
        self.state.ema.update(self.model)

    def diverged(self, loss: torch.Tensor, step: int) -> TrainingDiverged:
        """Save the last good state (unless the checkpoint already holds it); the error to raise."""
        path = self.checkpoint
        if self.ctx.main and not (path.exists() and load_step(path) == step):
            save_checkpoint(path, self.state.to_checkpoint(step))
        self.ctx.barrier()
        return TrainingDiverged(
            f"loss became {loss.item()} at step {step + 1}; the last good state "
            f"(step {step}) is in {path}",
            hint="check the store for bad values, lower --lr, then --resume",
        )

    def out_of_time(self) -> bool:
        """Whether the deadline has passed for any process (all of them then stop together)."""
        if self.deadline.limit is None:
            return False
        passed = torch.tensor(1.0 if self.deadline.passed() else 0.0, device=self.device)
        return bool(self.ctx.mean(passed) > 0)

    def after_step(self, step: int, stopping: bool = False) -> None:
        """Checkpoint and validate when due or `stopping` (rank 0), then wait for every process."""
        config, data = self.config, self.data
        last = step == config.steps or stopping
        if self.ctx.main and data.val_idx and (step % config.eval_every == 0 or last):
            result = validate(
                self.state.ema.model,
                data.reader,
                data.val_idx,
                config,
                self.device,
                step,
                self.out_dir,
                data.channels,
            )
            self.state.evals.append(result)  # kept in the checkpoint, for --resume
            say(config, validation_line(result))
        if self.ctx.main and (step % config.checkpoint_every == 0 or last):
            save_checkpoint(self.checkpoint, self.state.to_checkpoint(step))
        self.ctx.barrier()


def _run_steps(
    run: _Run, loader: Iterable[SRBatch], start: int, scale: int
) -> tuple[int, float, list[EvalResult]]:
    """Train on every batch of `loader`; returns the last step, its loss and the validations."""
    step, last_loss = start, float("nan")
    progress = make_progress("steps", quiet=run.config.quiet or not run.ctx.main)
    with progress:
        task = progress.add_task(f"train x{scale}", total=run.config.steps, completed=start)
        for batch in loader:
            batch = batch.to(run.device)
            loss = run.loss(batch)
            seen = run.ctx.mean(loss.detach().clone())
            if not torch.isfinite(seen):
                raise run.diverged(seen, step)
            run.optimise(loss)
            step += 1
            last_loss = float(seen)
            progress.update(task, advance=1, description=f"train x{scale} loss {last_loss:.4f}")
            stopping = step < run.config.steps and run.out_of_time()
            run.after_step(step, stopping)
            if stopping:
                break
    return step, last_loss, run.state.evals  # a resumed run's earlier ones first
