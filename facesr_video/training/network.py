"""The network being trained: built from the config, started from `--init` weights, partly frozen,
and run on a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from facesr_video.dataset.patches import SRBatch
from facesr_video.errors import InputError, ModelError
from facesr_video.render.layout import translation_indices
from facesr_video.sr.config import SAMConfig
from facesr_video.sr.neighbours import warp_neighbours
from facesr_video.sr.network import SAMNet, create_model
from facesr_video.sr.weights import load_model
from facesr_video.training.config import TrainConfig, say


def build_model(
    config: TrainConfig,
    scale: int,
    prior_channels: int,
    coeff_dim: int,
    device: str,
    coeff_mean: Callable[[], torch.Tensor] | None = None,
) -> SAMNet:
    """A fresh network for this run (seeded), on `device`, started from `--init` unless resuming.
    `coeff_mean`: the training set's mean coefficient vector, asked for only when the `--init`
    weights read entries this network leaves out."""
    torch.manual_seed(config.seed)
    base = create_model(config.model, scale=scale, frames=config.frames).config
    skip = () if config.translation or config.priors != "all" else translation_indices(coeff_dim)
    model_config = base.with_priors(config.priors, prior_channels, coeff_dim, skip)
    model = SAMNet(model_config).to(device)
    if config.init and not config.resume:
        load_init(model, Path(config.init), model_config, config, coeff_mean)
    return model


def forward(model: torch.nn.Module, cfg: SAMConfig, batch: SRBatch) -> torch.Tensor:
    """batch -> output (B, 3, S*p, S*p); priors/coefficients passed as the prior mode wants."""
    priors = batch.priors if cfg.uses_maps else None
    coeffs = batch.coeffs if cfg.uses_coeffs else None
    if cfg.neighbours == 0:
        return model(batch.lr, priors, coeffs)
    nb = warp_neighbours(batch.lr, batch.nb_lr, batch.nb_pos, batch.nb_conf)
    return model(batch.lr, priors, coeffs, nb.warped, nb.confidence)


def trainable_parameters(model: SAMNet, prefixes: tuple[str, ...]) -> list[torch.nn.Parameter]:
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


def load_init(
    model: SAMNet,
    path: Path,
    config: SAMConfig,
    train_config: TrainConfig,
    coeff_mean: Callable[[], torch.Tensor] | None = None,
) -> None:
    """Start from weights of the same configuration (`train --init`)."""
    if not path.is_file():
        raise InputError(f"--init weights not found: {path}", hint="check the path")
    start, info = load_model(path)
    if info.config.coeff_skip != config.coeff_skip and coeff_mean is not None:
        start = skip_coefficients(start, config.coeff_skip, coeff_mean())
        info = replace(info, config=start.config)
    parent = replace(config, frames=1, fusion_channels=info.config.fusion_channels)
    other_output = replace(info.config, scale=config.scale, upsampler=config.upsampler) == config
    if other_output and info.config != config:
        # Another factor's or upsampler's network: every tensor of the same name and shape is
        # taken (the body, a shared upsampling stage); the condition net's input and the output
        # layers that differ start anew.
        own = model.state_dict()
        shared = {
            k: v for k, v in start.state_dict().items() if k in own and own[k].shape == v.shape
        }
        model.load_state_dict(shared, strict=False)
        taken = f"{len(shared)}/{len(own)} tensors taken"
        origin = f"x{info.config.scale} {info.config.upsampler}"
        say(train_config, f"--init from {origin}: {taken}")
        return
    if _shallower(info.config, config):
        deepen_from(model, start)
        say(
            train_config,
            f"--init from {info.config.blocks_per_group} blocks a group: the new "
            "ones start as identity",
        )
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


def _shallower(parent: SAMConfig, config: SAMConfig) -> bool:
    """Whether `config` is `parent` with more blocks in each group."""
    same_otherwise = replace(parent, blocks_per_group=config.blocks_per_group) == config
    return same_otherwise and parent.blocks_per_group < config.blocks_per_group


def deepen_from(model: SAMNet, parent: SAMNet) -> None:
    """Load the shallower `parent` into `model`; each group's extra blocks get a zero last
    convolution, so they add nothing and `model` starts out computing exactly what `parent` does."""
    missing, unexpected = model.load_state_dict(parent.state_dict(), strict=False)
    kept = parent.config.blocks_per_group
    new_blocks = {
        f"groups.{g}.blocks.{b}.": group.blocks[b]
        for g, group in enumerate(model.groups)
        for b in range(kept, len(group.blocks))
    }
    if unexpected or any(not k.startswith(tuple(new_blocks)) for k in missing):
        raise ModelError(f"the shallower weights do not fit this network: {missing}")
    with torch.no_grad():
        for block in new_blocks.values():
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()


def skip_coefficients(model: SAMNet, skip: tuple[int, ...], mean: torch.Tensor) -> SAMNet:
    """The same network reading no coefficient entry in `skip`: what those entries added on
    average (their training-set `mean`, (D,)) moves into the projection's bias, so at the mean
    it computes what it did, and elsewhere what it did for a face at that mean."""
    config = replace(model.config, coeff_skip=tuple(skip))
    changed = SAMNet(config)
    changed.load_state_dict(model.state_dict())
    projection = changed.cond_net.coeff_proj
    if projection is None:
        raise ModelError("these weights read no coefficients")
    dropped = sorted(set(skip) - set(model.config.coeff_skip))
    with torch.no_grad():
        weight = projection.weight.double()
        shift = weight[:, dropped] @ mean.double()[dropped].to(weight.device)
        projection.bias.add_(shift.to(projection.bias.dtype))
        projection.weight[:, dropped] = 0.0
    return changed
