"""Training loop of the SAM network on a priors store: single process, or DDP under torchrun.

Resumable and hard to lose work with: a checkpoint (model, optimiser, schedule, step) is written
atomically to RUN/checkpoint.pt every `checkpoint_every` steps and never from non-finite weights;
a non-finite loss stops the run with its step number after saving the last good state. Data is a
function of the step (see `StepBatchSampler`), so a resumed run continues exactly as an
uninterrupted one. Rank 0 validates (PSNR/SSIM against bicubic on held-out sources), writes the
sample sheet PNG and exports RUN/model.safetensors with the recipe in its metadata.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.mirror import CoefficientMirror, coefficient_mirror
from facesr_video.dataset.patches import (
    Augment,
    PatchDataset,
    SRBatch,
    StepBatchSampler,
    neighbour_indices,
)
from facesr_video.dataset.store import LayoutInfo, StoreReader, holdout_sources, match_sources
from facesr_video.device import resolve_device
from facesr_video.errors import FacesrError, InputError, ModelError, OutputError
from facesr_video.files import NamedPath, check_output_folder, write_whole
from facesr_video.progress import make_progress
from facesr_video.render.layout import variant_channels
from facesr_video.sr.config import PRIOR_MODES, SAMConfig
from facesr_video.sr.neighbours import REGISTRATIONS, warp_neighbours
from facesr_video.sr.network import SAMNet, count_parameters, create_model
from facesr_video.sr.weights import save_model

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.safetensors"


class TrainingDiverged(FacesrError):
    """The loss became NaN/inf; the last good state was saved."""

    exit_code = 3


@dataclass(frozen=True)
class TrainConfig:
    """How to train. `holdout` lists validation source ids; empty = `val_fraction` of sources."""

    model: str = "sam-light"
    priors: str = "all"
    steps: int = 2000
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
    degradation: str = "bicubic"  # a name in degrade.recipes.DEGRADATIONS (see MODEL_CARD: "video")
    scale_augment: tuple[float, float] = (0.35, 1.0)  # shrink range (1, 1 = off), see Augment
    flip: bool = True  # mirrored priors and coefficients (dataset/mirror.py)
    face_model: str | None = None  # for mirroring identity weights; default: the installed one
    init: str | None = None  # weights (.safetensors) to start from, same config
    # (or its single-frame parent: a multi-frame run starts from it with the fusion at zero)
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
    quiet: bool = False
    expected_layout_version: str | None = None

    def __post_init__(self) -> None:
        if self.priors not in PRIOR_MODES:
            raise InputError(f"--priors must be one of {', '.join(PRIOR_MODES)}")
        if self.steps <= 0 or self.batch_size <= 0:
            raise InputError("--steps and --batch-size must be positive")
        if self.degradation not in DEGRADATIONS:
            raise InputError(
                f"--degradation must be one of {', '.join(DEGRADATIONS)}, got {self.degradation!r}"
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
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(f"--ema must be in [0, 1), got {self.ema_decay}")


@dataclass(frozen=True)
class EvalResult:
    """Validation at one step: means over the held-out patches."""

    step: int
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float
    sheet: Path | None


@dataclass(frozen=True)
class TrainResult:
    weights: Path
    checkpoint: Path
    steps: int
    last_loss: float
    seconds: float
    evals: tuple[EvalResult, ...] = field(default_factory=tuple)


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()


def _setup_dist(device_kind: str) -> _Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
        owns = True
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), owns)


def _lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio` at the last step."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    t = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def _forward(model: torch.nn.Module, cfg: SAMConfig, batch: SRBatch) -> torch.Tensor:
    """batch -> output (B, 3, S*p, S*p); priors/coefficients passed as the prior mode wants."""
    priors = batch.priors if cfg.uses_maps else None
    coeffs = batch.coeffs if cfg.uses_coeffs else None
    if cfg.neighbours == 0:
        return model(batch.lr, priors, coeffs)
    nb = warp_neighbours(batch.lr, batch.nb_lr, batch.nb_pos, batch.nb_conf)
    return model(batch.lr, priors, coeffs, nb.warped, nb.confidence)


def prior_channels(names: tuple[str, ...], mode: str) -> list[int]:
    """Indices of the map channels a prior mode feeds the network (render/layout.py's rule).

    The chosen names are saved with the weights, so `enhance` selects the same channels by name.
    """
    return list(variant_channels(tuple(names), mode))


def _check_store(reader: StoreReader, scale: int, config: TrainConfig) -> None:
    if len(reader) == 0:
        raise InputError(
            f"store {reader.path} has no samples", hint="run extract-priors on inputs with faces"
        )
    if reader.scale != scale:
        raise InputError(
            f"store {reader.path} was made for x{reader.scale}, not x{scale}",
            hint=f"use --scale {reader.scale} or a store extracted with --scale {scale}",
        )
    try:
        if not (config.synthetic_neighbours and not reader.neighbours):
            neighbour_indices(reader.neighbours, config.frames - 1)
    except ValueError as error:
        raise InputError(f"store {reader.path}: {error}") from None
    want = config.expected_layout_version
    if want is not None and config.priors != "none" and reader.layout.version != want:
        raise InputError(
            f"store {reader.path} has prior layout {reader.layout.version!r}, expected {want!r}",
            hint="rebuild the store with this version's extract-priors, or train --priors none",
        )


def _save_checkpoint(path: Path, state: dict[str, Any]) -> bool:
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
            hint="restore it from a copy or start a new run in another --out folder",
        ) from error
    return state


def train(store: Path, scale: int, out_dir: Path, config: TrainConfig) -> TrainResult:
    """Train (or resume) a SAM model on `store`; returns where the weights are and the figures."""
    started = time.perf_counter()
    check_output_folder(NamedPath("--out", Path(out_dir)), [NamedPath("store", Path(store))])
    device = str(resolve_device(config.device))
    ctx = _setup_dist("cuda" if device.startswith("cuda") else "cpu")
    if device == "cuda" and ctx.world_size > 1:
        device = f"cuda:{ctx.local_rank}"
        torch.cuda.set_device(device)
    try:
        return _train(Path(store), scale, Path(out_dir), config, device, ctx, started)
    finally:
        if ctx.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def _train(
    store: Path,
    scale: int,
    out_dir: Path,
    config: TrainConfig,
    device: str,
    ctx: _Dist,
    started: float,
) -> TrainResult:
    reader = StoreReader(store)
    if scale != reader.scale and reader.scale % scale == 0:
        reader = StoreReader(store, scale=scale)  # an x4/x8 store's HR crops train x2/x4
        _say(config, f"reading {store} (x{reader.manifest.scale}) at x{scale}: LR = HR / {scale}")
    _check_store(reader, scale, config)
    holdout = match_sources(reader.sources(), config.holdout) or holdout_sources(
        reader.sources(), config.val_fraction, config.seed
    )
    train_idx, val_idx = reader.split(holdout)
    if not train_idx:
        raise InputError("every sample of the store is held out for validation; nothing to train")
    layout = reader.layout
    channels = prior_channels(layout.channels, config.priors)

    torch.manual_seed(config.seed)
    base = create_model(config.model, scale=scale, frames=config.frames).config
    model_cfg = base.with_priors(config.priors, len(channels), layout.coeff_dim)
    model = SAMNet(model_cfg).to(device)
    if config.init and not config.resume:
        _load_init(model, Path(config.init), model_cfg, config)
    ema = ExponentialAverage(model, config.ema_decay)
    trained = _trainable_parameters(model, config.trainable)
    optimizer = torch.optim.AdamW(
        trained, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99)
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, config))

    ckpt_path = out_dir / CHECKPOINT
    start = 0
    if config.resume:
        state = load_checkpoint(ckpt_path)
        if state["config"] != model_cfg.to_json():
            raise ModelError(
                f"checkpoint {ckpt_path} is for another model or prior mode",
                hint="resume with the same --model/--priors/--scale, or use another --out",
            )
        if state["layout"] != layout.version and model_cfg.prior_mode != "none":
            raise ModelError(
                f"checkpoint was trained on prior layout {state['layout']!r}, the store has "
                f"{layout.version!r}",
                hint="resume on the store it was trained on",
            )
        model.load_state_dict(state["model"])
        ema.load_state_dict(state.get("ema", state["model"]), int(state.get("ema_updates", 0)))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = int(state["step"])
    elif ckpt_path.exists():
        raise OutputError(
            f"{out_dir} already holds a training run",
            hint="pass --resume to continue it, or choose another --out",
        )
    if ctx.main:
        out_dir.mkdir(parents=True, exist_ok=True)
    ctx.barrier()

    net: torch.nn.Module = model
    if ctx.world_size > 1:
        net = DistributedDataParallel(
            model, device_ids=[ctx.local_rank] if device.startswith("cuda") else None
        )
    mirror = _coefficient_mirror(config, layout) if model_cfg.uses_coeffs and config.flip else None
    dataset = PatchDataset(
        reader,
        train_idx,
        config.patch,
        True,
        config.degrade_on_the_fly,
        DEGRADATIONS[config.degradation],
        channels=channels,
        augment=Augment(flip=config.flip, scale=config.scale_augment),
        mirror=mirror,
        coeffs_used=model_cfg.uses_coeffs,
        neighbours=model_cfg.neighbours,
        registration=config.registration,
        synthetic_neighbours=config.synthetic_neighbours,
    )
    loader = DataLoader(
        dataset,
        batch_sampler=StepBatchSampler(
            len(train_idx),
            config.batch_size,
            start,
            config.steps,
            config.seed,
            ctx.rank,
            ctx.world_size,
        ),
        num_workers=config.num_workers,
        pin_memory=device.startswith("cuda"),
        persistent_workers=False,
    )
    use_amp = config.amp and device.startswith("cuda")

    def checkpoint_state(step: int) -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "ema_updates": ema.updates,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "config": model_cfg.to_json(),
            "layout": layout.version,
            "train_config": json.dumps(asdict(config), default=str),
        }

    evals: list[EvalResult] = []
    step, last_loss = start, float("nan")
    progress = make_progress("steps", quiet=config.quiet or not ctx.main)
    with progress:
        task = progress.add_task(f"train x{scale}", total=config.steps, completed=start)
        for batch in loader:
            batch = batch.to(device)
            net.train()
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                out = _forward(net, model_cfg, batch)
            out = out.float()
            loss = F.l1_loss(out, batch.hr)
            if config.mse_weight:
                loss = loss + config.mse_weight * F.mse_loss(out, batch.hr)
            seen = loss.detach().clone()
            if ctx.world_size > 1:
                dist.all_reduce(seen)
                seen /= ctx.world_size
            if not torch.isfinite(seen):
                if ctx.main and not (ckpt_path.exists() and load_step(ckpt_path) == step):
                    _save_checkpoint(ckpt_path, checkpoint_state(step))
                ctx.barrier()
                raise TrainingDiverged(
                    f"loss became {seen.item()} at step {step + 1}; the last good state "
                    f"(step {step}) is in {ckpt_path}",
                    hint="check the store for bad values, lower --lr, then --resume",
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(trained, config.grad_clip)
            optimizer.step()
            scheduler.step()
            ema.update(model)
            step += 1
            last_loss = float(seen)
            progress.update(task, advance=1, description=f"train x{scale} loss {last_loss:.4f}")
            if ctx.main and (step % config.checkpoint_every == 0 or step == config.steps):
                _save_checkpoint(ckpt_path, checkpoint_state(step))
            if ctx.main and val_idx and (step % config.eval_every == 0 or step == config.steps):
                evals.append(
                    evaluate(ema.model, reader, val_idx, config, device, step, out_dir, channels)
                )
            ctx.barrier()

    weights = out_dir / WEIGHTS
    seconds = time.perf_counter() - started
    if ctx.main:
        recipe: dict[str, Any] = {
            "train_config": asdict(config),
            "store": str(store),
            "store_samples": len(reader),
            "train_samples": len(train_idx),
            "flips": dataset.can_flip,
            "holdout_sources": holdout,
            "steps": step,
            "world_size": ctx.world_size,
            "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
            "seconds_this_run": round(seconds, 1),
            "parameters": count_parameters(model),
            "last_loss": last_loss,
            "validation": [asdict(e) for e in evals],
        }
        names = tuple(layout.channels[i] for i in channels)
        save_model(ema.model, weights, layout.version, names, recipe)
        (out_dir / "validation.json").write_text(
            json.dumps([asdict(e) for e in evals], indent=1, default=str)
        )
    ctx.barrier()
    return TrainResult(weights, ckpt_path, step, last_loss, seconds, tuple(evals))


class ExponentialAverage:
    """EMA of a model's weights, the copy that is validated and shipped (smoother than the last
    step's). The decay ramps up as (1 + t) / (10 + t) so early averages do not lag far behind."""

    def __init__(self, model: SAMNet, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, current in zip(
            self.model.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if average.is_floating_point():
                average.lerp_(current.detach(), 1.0 - decay)
            else:
                average.copy_(current)

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any], updates: int) -> None:
        self.model.load_state_dict(state)
        self.updates = updates


def _trainable_parameters(model: SAMNet, prefixes: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """The parameters to optimise; the others are frozen (requires_grad off)."""
    if not prefixes:
        return list(model.parameters())
    chosen = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(prefixes))
        if parameter.requires_grad:
            chosen.append(parameter)
    if not chosen:
        names = sorted({n.split(".")[0] for n, _ in model.named_parameters()})
        raise InputError(
            f"--trainable {', '.join(prefixes)} matches no parameter of this network",
            hint=f"its parts are: {', '.join(names)}",
        )
    return chosen


def _load_init(model: SAMNet, path: Path, config: SAMConfig, train_config: TrainConfig) -> None:
    """Start from weights of the same configuration (`train --init`)."""
    from facesr_video.sr.weights import load_model

    if not path.is_file():
        raise InputError(f"--init weights not found: {path}", hint="check the path")
    start, info = load_model(path)
    parent = replace(config, frames=1, fusion_channels=info.config.fusion_channels)
    other_scale = replace(info.config, scale=config.scale) == config
    if other_scale:
        # Another factor's network: every tensor of the same shape is taken (the body, the
        # first upsampling stage); the condition net's input and the other stages start anew.
        own = model.state_dict()
        shared = {
            k: v for k, v in start.state_dict().items() if k in own and own[k].shape == v.shape
        }
        model.load_state_dict(shared, strict=False)
        taken = f"{len(shared)}/{len(own)} tensors taken"
        _say(train_config, f"--init from x{info.config.scale}: {taken}")
        return
    if info.config != config and info.config != parent:
        raise ModelError(
            f"--init weights {path.name} are {info.config.to_json()}, this run builds "
            f"{config.to_json()}",
            hint="use the same --model/--priors/--scale as the weights, or drop --init",
        )
    # A single-frame parent leaves the fusion as built: its output layer is zero, so the
    # multi-frame network starts out computing exactly what the parent does.
    missing, unexpected = model.load_state_dict(start.state_dict(), strict=False)
    if unexpected or any(not k.startswith("fusion.") for k in missing):
        raise ModelError(f"--init weights {path.name} do not fit this network: {missing}")


def _coefficient_mirror(config: TrainConfig, layout: LayoutInfo) -> CoefficientMirror | None:
    """The flip's coefficient map, or None (and no flips) when the face model the identity
    weights came from cannot be found or does not match the store: a flipped sample with
    unmirrored coefficients would contradict its image."""
    from facesr_video.morph.formats import load_face_model
    from facesr_video.morph.install import resolve_face_model_path
    from facesr_video.render.layout import coefficient_names

    try:
        path = resolve_face_model_path(Path(config.face_model) if config.face_model else None)
        face_model = load_face_model(path)
    except ModelError as error:
        if config.face_model:
            raise
        _say(config, f"flips off: coefficients cannot be mirrored without the face model ({error})")
        return None
    names = coefficient_names(face_model)
    if len(names) != layout.coeff_dim:
        if config.face_model:
            raise InputError(
                f"the face model has {len(names)} coefficients, the store {layout.coeff_dim}",
                hint="pass --face-model with the model the store was extracted with",
            )
        _say(config, "flips off: the installed face model does not match the store's coefficients")
        return None
    return coefficient_mirror(names, face_model)


def _say(config: TrainConfig, line: str) -> None:
    if not config.quiet:
        print(line, file=sys.stderr)


def load_step(path: Path) -> int:
    """The step a checkpoint was taken at."""
    return int(load_checkpoint(path)["step"])


@torch.no_grad()
def evaluate(
    model: SAMNet,
    reader: StoreReader,
    val_idx: list[int],
    config: TrainConfig,
    device: str,
    step: int,
    out_dir: Path,
    channels: list[int] | None = None,
) -> EvalResult:
    """PSNR/SSIM (eval/metrics.py) of output and bicubic against HR on fixed centre patches."""
    from facesr_video.eval.metrics import psnr, ssim

    chosen = val_idx[: config.max_val_samples]
    patch = min(reader.lr_sizes[i] for i in chosen) // 8 * 8
    data = PatchDataset(
        reader,
        chosen,
        patch,
        False,
        config.degrade_on_the_fly,
        DEGRADATIONS[config.degradation],
        channels=channels,
        neighbours=model.config.neighbours,
        registration=config.registration,
        synthetic_neighbours=config.synthetic_neighbours,
    )
    was_training = model.training
    model.eval()
    scores: dict[str, list[torch.Tensor]] = {k: [] for k in ("p", "s", "bp", "bs")}
    rows: list[np.ndarray] = []
    for first in range(0, len(chosen), config.batch_size):
        items = [
            data[(i, 10_000 + i)] for i in range(first, min(len(chosen), first + config.batch_size))
        ]
        batch = SRBatch(*(torch.stack(t) for t in zip(*items, strict=True))).to(device)
        out = _forward(model, model.config, batch).float().clamp(0, 1)
        bicubic = F.interpolate(
            batch.lr, scale_factor=reader.scale, mode="bicubic", align_corners=False
        ).clamp(0, 1)
        scores["p"].append(psnr(out, batch.hr).cpu())
        scores["s"].append(ssim(out, batch.hr).cpu())
        scores["bp"].append(psnr(bicubic, batch.hr).cpu())
        scores["bs"].append(ssim(bicubic, batch.hr).cpu())
        if not rows:
            rows = _sheet_rows(batch, bicubic, out, reader.scale)
    if was_training:
        model.train()
    sheet = out_dir / "val" / f"step-{step:07d}.png"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(sheet)

    def mean(key: str) -> float:
        return float(torch.cat(scores[key]).mean())

    return EvalResult(step, mean("p"), mean("s"), mean("bp"), mean("bs"), sheet)


def _sheet_rows(
    batch: SRBatch, bicubic: torch.Tensor, out: torch.Tensor, scale: int, count: int = 4
) -> list[np.ndarray]:
    """Rows of LR (nearest) | bicubic | output | HR as (S*p, 4*S*p, 3) uint8 images."""
    lr_big = F.interpolate(batch.lr, scale_factor=scale, mode="nearest")
    rows = []
    for i in range(min(count, batch.lr.shape[0])):
        tiles = [lr_big[i], bicubic[i], out[i], batch.hr[i]]
        row = torch.cat([t.clamp(0, 1) for t in tiles], dim=2)
        rows.append((row.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8))
    return rows
