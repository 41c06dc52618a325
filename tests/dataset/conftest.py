"""Synthetic priors stores for the dataset and training tests: face-like blobs and their priors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.dataset.store import LayoutInfo, StoreSample, StoreWriter

LAYOUT = LayoutInfo("priors-test-v1", ("shade", "mask", "depth"), 6)


def synthetic_sample(
    rng: np.random.Generator, source: str, track: int, frame: int, lr_size: int, scale: int
) -> StoreSample:
    """An HR image of blurred ellipses on a gradient; LR by box downscale; priors from the HR."""
    big = lr_size * scale
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) / big
    img = np.stack([0.3 + 0.4 * xx, 0.2 + 0.5 * yy, 0.5 - 0.2 * xx], axis=-1)
    mask = np.zeros((big, big), np.float32)
    for _ in range(4):
        cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.25)
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r).astype(np.float32)
        img = img * (1 - blob[..., None]) + blob[..., None] * rng.uniform(0, 1, size=3)
        mask = np.maximum(mask, blob)
    hr = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    lr = np.asarray(Image.fromarray(hr).resize((lr_size, lr_size), Image.Resampling.BOX))
    shade = hr.mean(axis=2) / 255.0
    priors = np.stack([shade, mask, yy]).astype(np.float16)
    coeffs = rng.normal(size=LAYOUT.coeff_dim).astype(np.float32)
    return StoreSample(hr, lr, priors, coeffs, source, track, frame)


def make_store(
    path: Path,
    scale: int = 4,
    sources: int = 3,
    per_source: int = 4,
    lr_sizes: tuple[int, ...] = (16, 24),
    shard_size: int = 5,
    seed: int = 0,
    layout: LayoutInfo = LAYOUT,
) -> Path:
    rng = np.random.default_rng(seed)
    with StoreWriter(path, scale, layout, shard_size=shard_size) as writer:
        for s in range(sources):
            for f in range(per_source):
                n = lr_sizes[(s + f) % len(lr_sizes)]
                writer.append(synthetic_sample(rng, f"clip{s}.mp4", 0, f, n, scale))
    return path


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine: extra OpenMP threads only spin and wait."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def store4(tmp_path: Path) -> Path:
    return make_store(tmp_path / "store4")
