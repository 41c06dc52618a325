"""Torch datasets over a priors store: aligned random patches for training, fixed ones for checks.

A patch is taken at the same place in the LR crop (p x p), the HR crop (S*p) and the prior maps
(S*p), so the three stay aligned. Items are addressed by `(sample index, seed)`: the seed drives
the crop position, flips and the degradation, so a batch is reproducible whatever the number of
workers and a resumed run sees the same data (see `StepBatchSampler`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from facesr_video.sr.degrade import DegradeConfig, degrade
from facesr_video.sr.store import StoreReader


class SRBatch(NamedTuple):
    """lr (B, 3, p, p), hr (B, 3, S*p, S*p) in [0, 1]; priors (B, C, S*p, S*p); coeffs (B, D)."""

    lr: torch.Tensor
    hr: torch.Tensor
    priors: torch.Tensor
    coeffs: torch.Tensor

    def to(self, device: torch.device | str) -> SRBatch:
        return SRBatch(*(t.to(device, non_blocking=True) for t in self))


class PatchDataset(Dataset):
    """Patches of the samples `indices` of a store. `train` = random place + flips, else centre."""

    def __init__(
        self,
        reader: StoreReader,
        indices: Sequence[int],
        patch: int,
        train: bool = True,
        degrade_on_the_fly: bool = True,
        degrade_config: DegradeConfig = DegradeConfig(),  # noqa: B008
        channels: Sequence[int] | None = None,
    ) -> None:
        small = [i for i in indices if reader.lr_sizes[i] < patch]
        if small:
            raise ValueError(
                f"{len(small)} samples are smaller than the patch ({patch} LR px); use a smaller "
                "--patch"
            )
        self.reader = reader
        self.indices = list(indices)
        self.patch = patch
        self.train = train
        self.degrade_on_the_fly = degrade_on_the_fly
        self.degrade_config = degrade_config
        self.channels = None if channels is None else list(channels)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int] | int) -> SRBatch:
        position, seed = key if isinstance(key, tuple) else (key, key)
        s = self.reader[self.indices[position]]
        scale, p = self.reader.scale, self.patch
        rng = np.random.default_rng(seed)
        n = s.lr.shape[0]
        if self.train:
            y, x = (int(v) for v in rng.integers(0, n - p + 1, size=2))
        else:
            y = x = (n - p) // 2
        big = slice(y * scale, (y + p) * scale), slice(x * scale, (x + p) * scale)
        hr = np.asarray(s.hr[big[0], big[1]])
        maps = s.priors if self.channels is None else s.priors[self.channels]
        priors = np.asarray(maps[:, big[0], big[1]], dtype=np.float32)
        if self.degrade_on_the_fly:
            lr = degrade(hr, scale, rng, self.degrade_config)
        else:
            lr = np.asarray(s.lr[y : y + p, x : x + p])
        if self.train and rng.uniform() < 0.5:  # horizontal flip (faces are near-symmetric)
            hr, lr, priors = hr[:, ::-1], lr[:, ::-1], priors[:, :, ::-1]
        return SRBatch(
            lr=_to_chw(lr),
            hr=_to_chw(hr),
            priors=torch.from_numpy(np.ascontiguousarray(priors)),
            coeffs=torch.from_numpy(np.asarray(s.coeffs, dtype=np.float32).copy()),
        )


def _to_chw(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 255.0


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches for steps [start, stop): batch of step t is drawn from seed (seed, t), then split
    across ranks, so resuming at step t or running on N processes sees the same data."""

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        start: int,
        stop: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if num_items <= 0:
            raise ValueError("no training samples")
        self.num_items, self.batch_size = num_items, batch_size
        self.start, self.stop, self.seed = start, stop, seed
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        total = self.batch_size * self.world_size
        for step in range(self.start, self.stop):
            rng = np.random.default_rng([self.seed, step])
            items = rng.integers(0, self.num_items, size=total)
            seeds = rng.integers(0, 2**31 - 1, size=total)
            mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
            yield [(int(i), int(s)) for i, s in zip(items[mine], seeds[mine], strict=True)]
