"""Torch datasets over a priors store: aligned random patches for training, fixed ones for checks.

A patch is taken at the same place in the LR crop (p x p), the HR crop (S*p) and the prior maps
(S*p), so the three stay aligned. Items are addressed by `(sample index, seed)`: the seed drives
the crop position, flips, the scale and the degradation, so a batch is reproducible whatever the
number of workers and a resumed run sees the same data (see `StepBatchSampler`).

Augmentations keep image and priors telling the same story (`Augment`): a flip mirrors the maps
and the coefficients (dataset/mirror.py), and scale augmentation shrinks the HR region and its maps
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

from facesr_video.dataset.degrade.recipes import (
    DegradeConfig,
    degrade_clip,
    draw_degradation,
)
from facesr_video.dataset.mirror import CoefficientMirror, mirror_maps
from facesr_video.dataset.store import NeighbourSample, SampleReader, StoreSample
from facesr_video.sr.neighbours import sample_pixels

NEIGHBOUR_MARGIN = 4  # LR px of each neighbour read around the patch (motion reaches into it)


class SRBatch(NamedTuple):
    """lr (B, 3, p, p), hr (B, 3, S*p, S*p) in [0, 1]; priors (B, C, S*p, S*p); coeffs (B, D);
    neighbours (N = 0 for single-frame training): nb_lr (B, N, 3, p + 2M, p + 2M) their
    low-resolution windows, nb_pos (B, N, p, p, 2) where each patch pixel lies in them, nb_conf
    (B, N, 1, p, p) (sr/neighbours.warp_neighbours turns these into network inputs)."""

    lr: torch.Tensor
    hr: torch.Tensor
    priors: torch.Tensor
    coeffs: torch.Tensor
    nb_lr: torch.Tensor
    nb_pos: torch.Tensor
    nb_conf: torch.Tensor

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
        reader: SampleReader,
        indices: Sequence[int],
        patch: int,
        train: bool = True,
        degrade_on_the_fly: bool = True,
        degrade_config: DegradeConfig = DegradeConfig(),  # noqa: B008
        channels: Sequence[int] | None = None,
        augment: Augment = Augment(),  # noqa: B008
        mirror: CoefficientMirror | None = None,
        coeffs_used: bool = True,
        neighbours: int = 0,
        registration: str = "mesh",
        synthetic_neighbours: bool = False,
        clean_share: float = 0.0,
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
        # Training patches of a stored-input run degraded on the fly instead, this often: one
        # network for clean and compressed input (the rest keep the store's coded input).
        self.clean_share = clean_share
        self.channels = None if channels is None else list(channels)
        names = reader.layout.channels
        self.channel_names = names if channels is None else tuple(names[i] for i in channels)
        self.augment = augment
        self.mirror = mirror
        self.can_flip = augment.flip and (mirror is not None or not coeffs_used)
        self.registration = registration
        # Stills (and stores without neighbours) may get neighbours made by moving them.
        self.synthetic_neighbours = synthetic_neighbours
        if synthetic_neighbours and not reader.neighbours:
            self.neighbour_index = list(range(neighbours))
        else:
            self.neighbour_index = neighbour_indices(reader.neighbours, neighbours)
        if neighbours and not degrade_on_the_fly:
            raise ValueError("neighbours are degraded on the fly; degrade_on_the_fly must be on")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int] | int) -> SRBatch:
        position, seed = key if isinstance(key, tuple) else (key, key)
        s = self.reader[self.indices[position]]
        scale, p = self.reader.scale, self.patch
        rng = np.random.default_rng(seed)
        n = s.lr.shape[0]
        coeffs = np.asarray(s.coeffs, dtype=np.float32).copy()
        fly = self._on_the_fly(rng)
        shrink = self._shrink(rng, n) if self.train and fly else 1.0
        if shrink < 1.0:
            side = s.hr.shape[0]
            region = min(side, int(round(p * scale / shrink)))
            y_hr, x_hr = (int(v) for v in rng.integers(0, side - region + 1, size=2))
            window = HRWindow(y_hr, x_hr, region)
            hr, priors = _shrunk_patch(s.hr, s.priors, self.channels, p * scale, window)
        else:
            if self.train:
                y, x = (int(v) for v in rng.integers(0, n - p + 1, size=2))
            else:
                y = x = (n - p) // 2
            window = HRWindow(y * scale, x * scale, p * scale)
            big = slice(y * scale, (y + p) * scale), slice(x * scale, (x + p) * scale)
            hr = np.asarray(s.hr[big[0], big[1]])
            priors = _channels(s.priors[:, big[0], big[1]], self.channels).astype(np.float32)
        if fly:
            hr, lr, nb_lr, nb_pos, nb_conf = self._degraded(s, window, hr, rng)
        else:
            lr = np.asarray(s.lr[y : y + p, x : x + p])
            nb_lr, nb_pos, nb_conf = self._no_neighbours()
        if self.train and self.can_flip and rng.uniform() < 0.5:
            hr, lr = hr[:, ::-1], lr[:, ::-1]
            priors = mirror_maps(priors, self.channel_names)
            if self.mirror is not None:
                coeffs = self.mirror(coeffs)
            nb_lr, nb_conf = nb_lr.flip(-1), nb_conf.flip(-1)
            nb_pos = nb_pos.flip(-2)
            nb_pos[..., 0] = (nb_lr.shape[-1] - 1) - nb_pos[..., 0]
        return SRBatch(
            lr=_to_chw(lr),
            hr=_to_chw(hr),
            priors=torch.from_numpy(np.ascontiguousarray(priors)),
            coeffs=torch.from_numpy(coeffs),
            nb_lr=nb_lr,
            nb_pos=nb_pos,
            nb_conf=nb_conf,
        )

    def _on_the_fly(self, rng: np.random.Generator) -> bool:
        """Whether this item's input is made from its HR patch (else the store's input is read)."""
        if self.degrade_on_the_fly:
            return True
        return self.train and self.clean_share > 0.0 and rng.uniform() < self.clean_share

    def _degraded(
        self, s: StoreSample, window: HRWindow, hr: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One draw of the recipe for the patch and its neighbours (one camera, one codec).

        Without H.264, or with the recipe's intra setting, each frame is degraded alone. With
        a coded recipe (`h264_frames`/`h264_context`) the frames are coded as one stream in
        time order, each grown by the context so the codec sees more than a macroblock; with
        no neighbours, the patch follows frames of itself moving at a steady random velocity.
        Returns (hr, lr, neighbour images, positions, confidences); hr is the patch's target.
        """
        p, scale, m = self.patch, self.reader.scale, NEIGHBOUR_MARGIN
        config = self.degrade_config
        draw = draw_degradation(rng, config, scale)
        nb_images, nb_pos, nb_conf = self._no_neighbours()
        nb, order = self._neighbour_sample(s, rng)
        coded = draw.codec == "h264" and (config.h264_frames > 1 or config.h264_context > 0)
        if nb is not None:
            nb_pos, nb_conf = self._neighbour_motion(nb, window, order)
        present = [i for i in range(len(order)) if float(nb_conf[i].max()) > 0.0]
        if not coded:
            lr = degrade_clip([hr], scale, draw, rng)[0]
            for i in present:
                grown = self._grown(nb.hr[order[i][0]], window, m)
                nb_images[i] = _to_chw(degrade_clip([grown], scale, draw, rng)[0])
            return hr, lr, nb_images, nb_pos, nb_conf
        grow = max(config.h264_context, m)
        centre = self._grown(s.hr, window, grow)
        if present:  # the shot's own frames, in time order (the patch at offset 0)
            timeline = sorted([(order[i][1], i) for i in present] + [(0, -1)])
            frames = [
                centre if i < 0 else self._grown(nb.hr[order[i][0]], window, grow)
                for _, i in timeline
            ]
        else:
            timeline = [(0, -1)]
            frames = _moving_clip(centre, config.h264_frames, scale, rng)
        lows = degrade_clip(frames, scale, draw, rng)[-len(timeline) :]
        coded_by = {i: low for (_, i), low in zip(timeline, lows, strict=True)}  # -1: the patch
        for i, low in coded_by.items():
            if i >= 0:
                nb_images[i] = _to_chw(low[grow - m : grow + p + m, grow - m : grow + p + m])
        inner = slice(grow * scale, (grow + p) * scale)
        return (
            np.ascontiguousarray(centre[inner, inner]),
            coded_by[-1][grow : grow + p, grow : grow + p],
            nb_images,
            nb_pos,
            nb_conf,
        )

    def _grown(self, crop: np.ndarray, window: HRWindow, margin: int) -> np.ndarray:
        """The patch's window of an HR crop grown by `margin` LR px on each side, at the
        patch's resolution ((p + 2 margin) * S px; edge pixels repeated past the crop)."""
        p, scale = self.patch, self.reader.scale
        k = window.side / (p * scale)  # crop HR px per patch HR px (1 / shrink)
        grow = margin * scale * k
        pad = int(np.ceil(grow)) + 2
        padded = np.pad(np.asarray(crop), ((pad, pad), (pad, pad), (0, 0)), "edge")
        top, left, side = window.y + pad - grow, window.x + pad - grow, window.side + 2 * grow
        return _resize_window(padded, top, left, side, (p + 2 * margin) * scale)

    def _no_neighbours(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p, count, m = self.patch, len(self.neighbour_index), NEIGHBOUR_MARGIN
        return (
            torch.zeros((count, 3, p + 2 * m, p + 2 * m)),
            torch.zeros((count, p, p, 2)),
            torch.zeros((count, 1, p, p)),
        )

    def _neighbour_sample(
        self, s: StoreSample, rng: np.random.Generator
    ) -> tuple[NeighbourSample | None, list[tuple[int, int]]]:
        """The sample's neighbours (stored, or moved copies of a still) and, per network
        neighbour, (its index in them, its frame offset)."""
        count = len(self.neighbour_index)
        if count and s.neighbours is None and self.synthetic_neighbours:
            copies = moved_copies(s.hr, count, self.reader.scale, rng)
            return copies, [(i, i - count) for i in range(count)]  # all before the patch
        if not count or s.neighbours is None:
            return None, []
        offsets = self.reader.neighbours
        return s.neighbours, [(i, offsets[i]) for i in self.neighbour_index]

    def _neighbour_motion(
        self, nb: NeighbourSample, window: HRWindow, order: list[tuple[int, int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Where each patch pixel lies in each neighbour's window grown by NEIGHBOUR_MARGIN
        (positions (N, p, p, 2), x first) and how much to trust it (N, 1, p, p)."""
        p, scale, m = self.patch, self.reader.scale, NEIGHBOUR_MARGIN
        index = [i for i, _ in order]
        k = window.side / (p * scale)  # crop HR px per patch HR px (1 / shrink)
        flow = torch.from_numpy(np.asarray(nb.flow[self.registration], np.float32))[index]
        conf = torch.from_numpy(np.asarray(nb.confidence[self.registration], np.float32))[index]
        # Where each patch pixel's centre lies in the stored (LR crop) motion maps.
        j = torch.arange(p, dtype=torch.float32)
        ux = k * (j + 0.5) + window.x / scale - 0.5
        uy = k * (j + 0.5) + window.y / scale - 0.5
        grid = torch.stack(torch.meshgrid(uy, ux, indexing="ij")[::-1], dim=-1)
        grid = grid[None].expand(len(index), -1, -1, -1)
        flow_at, _ = sample_pixels(flow, grid)
        conf_at, _ = sample_pixels(conf, grid)
        base = torch.stack(torch.meshgrid(j, j, indexing="ij")[::-1], dim=-1) + m
        return base[None] + flow_at.permute(0, 2, 3, 1) / k, conf_at

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


class HRWindow(NamedTuple):
    """A square region of a sample's HR crop: top-left (y, x) and side, in HR pixels."""

    y: int
    x: int
    side: int


def moved_copies(
    hr: np.ndarray, count: int, scale: int, rng: np.random.Generator, reach: int = 2
) -> NeighbourSample:
    """Neighbours of a still: the HR crop moved by whole HR pixels (up to `reach` LR px, so
    sub-pixel steps at low resolution), with the exact motion and full confidence."""
    n = hr.shape[0] // scale
    moved = np.empty((count, *hr.shape), np.uint8)
    flow = np.zeros((count, 2, n, n), np.float32)
    pad = reach * scale
    padded = np.pad(hr, ((pad, pad), (pad, pad), (0, 0)), "edge")
    for i in range(count):
        dx, dy = (int(v) for v in rng.integers(-pad, pad + 1, size=2))
        moved[i] = _shifted(padded, pad, hr.shape[:2], dx, dy)
        flow[i, 0], flow[i, 1] = dx / scale, dy / scale
    confidence = np.ones((count, 1, n, n), np.float32)
    maps = {"mesh": flow, "box": flow}
    return NeighbourSample(moved, maps, {"mesh": confidence, "box": confidence})


def _moving_clip(
    image: np.ndarray, count: int, scale: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """`count` frames ending with `image`, the earlier ones moved at one steady random velocity
    (whole HR px, up to one LR px a frame; edges repeated): a still as the last frame of a shot."""
    dy, dx = (int(v) for v in rng.integers(-scale, scale + 1, size=2))  # HR px a frame
    reach = scale * (count - 1)
    moving = np.pad(image, ((reach, reach), (reach, reach), (0, 0)), "edge")
    # oldest first; the image itself (age 0) last
    ages = range(count - 1, -1, -1)
    return [_shifted(moving, reach, image.shape[:2], -dx * age, -dy * age) for age in ages]


def _shifted(padded: np.ndarray, pad: int, shape: tuple[int, ...], dx: int, dy: int) -> np.ndarray:
    """The image padded by `pad` px, moved by (dx, dy) whole px, at its own size `shape`."""
    h, w = shape[0], shape[1]
    return padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def neighbour_indices(offsets: Sequence[int], count: int) -> list[int]:
    """Positions in a store's neighbour offsets of the `count` nearest (a centred window)."""
    if count == 0:
        return []
    radius = count // 2
    chosen = [i for i, d in enumerate(offsets) if abs(d) <= radius]
    if count % 2 or len(chosen) != count:
        raise ValueError(
            f"the network wants {count} neighbours (frames t-{radius}..t+{radius}), the store "
            f"holds offsets {list(offsets) or 'none'}; extract-priors with --neighbours {radius}"
        )
    return chosen


def _resize_window(image: np.ndarray, y: float, x: float, side: float, out: int) -> np.ndarray:
    """The (possibly fractional) square window of an (H, W, 3) uint8 image resized to out x out
    with Pillow's antialiased bicubic; a whole-pixel window of the output size is copied."""
    if side == out and float(y).is_integer() and float(x).is_integer():
        return np.asarray(image[int(y) : int(y) + out, int(x) : int(x) + out])
    box = (float(x), float(y), float(x + side), float(y + side))
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(
        (out, out), Image.Resampling.BICUBIC, box=box
    )
    return np.asarray(resized)


def _shrunk_patch(
    hr: np.ndarray,
    maps: np.ndarray,
    channels: list[int] | None,
    out: int,
    window_hr: HRWindow,
) -> tuple[np.ndarray, np.ndarray]:
    """The HR window resized to (out, out): image with Pillow's antialiased bicubic (as the
    degradation), maps with antialiased bilinear (float32)."""
    y, x, region = window_hr
    window = slice(y, y + region), slice(x, x + region)
    image = Image.fromarray(np.ascontiguousarray(hr[window])).resize(
        (out, out), Image.Resampling.BICUBIC
    )
    cut = _channels(maps[:, window[0], window[1]], channels)
    if cut.shape[0] == 0:  # no prior channels (--priors none): nothing to resize
        return np.asarray(image), np.zeros((0, out, out), np.float32)
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
