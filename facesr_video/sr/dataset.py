"""Torch datasets over a priors store: aligned random patches for training, fixed ones for checks.

A patch is taken at the same place in the LR crop (p x p), the HR crop (S*p) and the prior maps
(S*p), so the three stay aligned. Items are addressed by `(sample index, seed)`: the seed drives
the crop position, flips, the scale and the degradation, so a batch is reproducible whatever the
number of workers and a resumed run sees the same data (see `StepBatchSampler`).

Augmentations keep image and priors telling the same story (`Augment`): a flip mirrors the maps
and the coefficients (sr/mirror.py), and scale augmentation shrinks the HR region and its maps
together, so the network sees faces of the sizes `enhance` meets (about 16-130 LR px), not only
the sizes the store happens to hold. The LR patch is always made from the (resized) HR patch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, Sampler

from facesr_video.degrade.recipes import DegradeConfig, degrade
from facesr_video.sr.mirror import CoefficientMirror, mirror_maps
from facesr_video.sr.store import StoreReader


class SRBatch(NamedTuple):
    """lr (B, 3, p, p), hr (B, 3, S*p, S*p) in [0, 1]; priors (B, C, S*p, S*p); coeffs (B, D)."""

    lr: torch.Tensor
    hr: torch.Tensor
    priors: torch.Tensor
    coeffs: torch.Tensor

    def to(self, device: torch.device | str) -> SRBatch:
        return SRBatch(*(t.to(device, non_blocking=True) for t in self))


@dataclass(frozen=True)
class Augment:
    """Training augmentations. scale: range of the shrink factor f (<= 1) drawn log-uniformly;
    a face is never shrunk below `min_face` LR px (its crop side times the template's 0.6)."""

    flip: bool = True
    scale: tuple[float, float] = (1.0, 1.0)
    min_face: float = 16.0


class PatchDataset(Dataset):
    """Patches of the samples `indices` of a store. `train` = random place + augment, else centre.

    `mirror` maps coefficients to the mirrored face's; without it a flip is made only when the
    network ignores coefficients (`coeffs_used=False`), never with priors that contradict it.
    """

    def __init__(
        self,
        reader: StoreReader,
        indices: Sequence[int],
        patch: int,
        train: bool = True,
        degrade_on_the_fly: bool = True,
        degrade_config: DegradeConfig = DegradeConfig(),  # noqa: B008
        channels: Sequence[int] | None = None,
        augment: Augment = Augment(),  # noqa: B008
        mirror: CoefficientMirror | None = None,
        coeffs_used: bool = True,
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
        names = reader.layout.channels
        self.channel_names = names if channels is None else tuple(names[i] for i in channels)
        self.augment = augment
        self.mirror = mirror
        self.can_flip = augment.flip and (mirror is not None or not coeffs_used)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int] | int) -> SRBatch:
        position, seed = key if isinstance(key, tuple) else (key, key)
        s = self.reader[self.indices[position]]
        scale, p = self.reader.scale, self.patch
        rng = np.random.default_rng(seed)
        n = s.lr.shape[0]
        coeffs = np.asarray(s.coeffs, dtype=np.float32).copy()
        shrink = self._shrink(rng, n) if self.train and self.degrade_on_the_fly else 1.0
        if shrink < 1.0:
            hr, priors = _shrunk_patch(s.hr, s.priors, self.channels, p * scale, shrink, rng)
        else:
            if self.train:
                y, x = (int(v) for v in rng.integers(0, n - p + 1, size=2))
            else:
                y = x = (n - p) // 2
            big = slice(y * scale, (y + p) * scale), slice(x * scale, (x + p) * scale)
            hr = np.asarray(s.hr[big[0], big[1]])
            priors = _channels(s.priors[:, big[0], big[1]], self.channels).astype(np.float32)
        if self.degrade_on_the_fly:
            lr = degrade(hr, scale, rng, self.degrade_config)
        else:
            lr = np.asarray(s.lr[y : y + p, x : x + p])
        if self.train and self.can_flip and rng.uniform() < 0.5:
            hr, lr = hr[:, ::-1], lr[:, ::-1]
            priors = mirror_maps(priors, self.channel_names)
            if self.mirror is not None:
                coeffs = self.mirror(coeffs)
        return SRBatch(
            lr=_to_chw(lr),
            hr=_to_chw(hr),
            priors=torch.from_numpy(np.ascontiguousarray(priors)),
            coeffs=torch.from_numpy(coeffs),
        )

    def _shrink(self, rng: np.random.Generator, crop_side: int) -> float:
        """Shrink factor for this item: log-uniform in the range, keeping the face >= min_face
        and the resized region inside the crop."""
        low, high = self.augment.scale
        floor = max(low, self.augment.min_face / (0.6 * crop_side), self.patch / crop_side)
        if floor >= high:
            return 1.0
        return float(np.exp(rng.uniform(np.log(floor), np.log(high))))


def _channels(maps: np.ndarray, channels: list[int] | None) -> np.ndarray:
    """The chosen channels of (C, h, w) maps; taken after the spatial cut, so a face crop's
    full-size maps (up to 13 x 1024 x 1024) are never copied whole."""
    return maps if channels is None else maps[channels]


def _shrunk_patch(
    hr: np.ndarray,
    maps: np.ndarray,
    channels: list[int] | None,
    out: int,
    shrink: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A random HR region of side out/shrink resized to (out, out): image with Pillow's
    antialiased bicubic (as the degradation), maps with antialiased bilinear (float32)."""
    side = hr.shape[0]
    region = min(side, int(round(out / shrink)))
    y, x = (int(v) for v in rng.integers(0, side - region + 1, size=2))
    window = slice(y, y + region), slice(x, x + region)
    image = Image.fromarray(np.ascontiguousarray(hr[window])).resize(
        (out, out), Image.Resampling.BICUBIC
    )
    cut = _channels(maps[:, window[0], window[1]], channels)
    region_maps = torch.from_numpy(np.asarray(cut, dtype=np.float32))
    resized = F.interpolate(
        region_maps[None], size=(out, out), mode="bilinear", align_corners=False, antialias=True
    )[0]
    return np.asarray(image), resized.numpy()


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
