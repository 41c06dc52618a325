"""What a run trains and validates on: the stores' samples split by source, and the batches.

Data is a function of the step (`StepBatchSampler`), so a resumed run sees what an uninterrupted
one would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from facesr_video.dataset.mirror import CoefficientMirror, coefficient_mirror
from facesr_video.dataset.patches import (
    Augment,
    PatchDataset,
    StepBatchSampler,
    neighbour_indices,
)
from facesr_video.dataset.store import LayoutInfo, StoreReader, holdout_sources, match_sources
from facesr_video.dataset.store_set import StoreSet
from facesr_video.errors import InputError, ModelError
from facesr_video.render.layout import variant_channels
from facesr_video.sr.config import SAMConfig
from facesr_video.training.config import TrainConfig, say
from facesr_video.training.distributed import Distributed


@dataclass(frozen=True)
class TrainingData:
    """The stores opened for training: which samples train, which validate, which map channels."""

    reader: StoreSet
    holdout: list[str]  # validation source ids
    train_idx: list[int]
    val_idx: list[int]
    channels: list[int]  # the prior map channels the network is fed

    @property
    def layout(self) -> LayoutInfo:
        return self.reader.layout


def prior_channels(names: tuple[str, ...], mode: str) -> list[int]:
    """Indices of the map channels a prior mode feeds the network (render/layout.py's rule).

    The chosen names are saved with the weights, so `enhance` selects the same channels by name.
    """
    return list(variant_channels(tuple(names), mode))


def open_training_data(stores: Sequence[Path], scale: int, config: TrainConfig) -> TrainingData:
    """Open `stores` as one set at `scale` (x4/x8 stores' HR crops train x2/x4 too) and split
    it by source."""
    reader = StoreSet.open(stores)
    if scale != reader.scale and reader.scale % scale == 0 and config.on_the_fly:
        reader = StoreSet.open(stores, scale=scale)
        named = ", ".join(str(p) for p in stores)
        say(config, f"reading {named} (x{reader.stored_scale}) at x{scale}: LR = HR / {scale}")
    for store in reader.readers:
        check_store(store, scale, config)
    holdout = match_sources(reader.sources(), config.holdout) or holdout_sources(
        reader.sources(), config.val_fraction, config.seed
    )
    train_idx, val_idx = reader.split(holdout)
    if not train_idx:
        raise InputError("every sample of the store is held out for validation; nothing to train")
    train_idx, val_idx = (
        _patch_sized(reader, train_idx, config),
        _patch_sized(reader, val_idx, config),
    )
    channels = prior_channels(reader.layout.channels, config.priors)
    return TrainingData(reader, holdout, train_idx, val_idx, channels)


def _patch_sized(reader: StoreSet, indices: list[int], config: TrainConfig) -> list[int]:
    """The samples a `--patch` fits in; the few smaller faces a store may hold are left out (and
    said), so a larger patch does not need a store without them."""
    kept = [i for i in indices if reader.lr_sizes[i] >= config.patch]
    if indices and not kept:
        raise InputError(
            f"every sample is smaller than the patch ({config.patch} LR px)",
            hint="use a smaller --patch",
        )
    left_out = len(indices) - len(kept)
    if left_out:
        noun = "sample" if left_out == 1 else "samples"
        say(config, f"{left_out} {noun} smaller than the patch ({config.patch} LR px) left out")
    return kept


def check_store(reader: StoreReader, scale: int, config: TrainConfig) -> None:
    """The store can train this run: samples, the scale, the neighbours, the prior layout."""
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


def coefficient_mean(data: TrainingData, count: int = 512) -> torch.Tensor:
    """(D,) float64 mean coefficient vector of up to `count` training samples, evenly spaced:
    the value an input the network stops reading is replaced by (training.network.load_init)."""
    step = max(1, len(data.train_idx) // count)
    picked = data.train_idx[::step]
    vectors = [torch.from_numpy(data.reader.coefficients(i)) for i in picked]
    return torch.stack(vectors).double().mean(dim=0)


def training_batches(
    data: TrainingData,
    config: TrainConfig,
    model_config: SAMConfig,
    start: int,
    ctx: Distributed,
    device: str,
) -> tuple[PatchDataset, DataLoader]:
    """The augmented training patches and the loader giving this process's batches from `start`."""
    use_flip_mirror = model_config.uses_coeffs and config.flip
    mirror = coefficient_mirror_for(config, data.layout) if use_flip_mirror else None
    dataset = PatchDataset(
        data.reader,
        data.train_idx,
        config.patch,
        True,
        config.on_the_fly,
        config.degrade_config,
        channels=data.channels,
        augment=Augment(flip=config.flip, scale=config.scale_augment),
        mirror=mirror,
        coeffs_used=model_config.uses_coeffs,
        neighbours=model_config.neighbours,
        registration=config.registration,
        synthetic_neighbours=config.synthetic_neighbours,
        clean_share=config.clean_share,
    )
    loader = DataLoader(
        dataset,
        batch_sampler=StepBatchSampler(
            len(data.train_idx),
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
    return dataset, loader


def coefficient_mirror_for(config: TrainConfig, layout: LayoutInfo) -> CoefficientMirror | None:
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
        say(config, f"flips off: coefficients cannot be mirrored without the face model ({error})")
        return None
    names = coefficient_names(face_model)
    if len(names) != layout.coeff_dim:
        if config.face_model:
            raise InputError(
                f"the face model has {len(names)} coefficients, the store {layout.coeff_dim}",
                hint="pass --face-model with the model the store was extracted with",
            )
        say(config, "flips off: the installed face model does not match the store's coefficients")
        return None
    return coefficient_mirror(names, face_model)
