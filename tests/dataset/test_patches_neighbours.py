"""Neighbours in training items: the stored motion puts each neighbour back onto the patch.

The synthetic neighbours are the sample's HR image moved by a known whole number of LR pixels (the
store's flow says so), so warping them by the item's positions must reproduce the current LR patch,
whatever the patch position, flip and shrink; without the motion they do not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.patches import Augment, PatchDataset, neighbour_indices
from facesr_video.dataset.store import NeighbourSample, StoreReader, StoreSample, StoreWriter
from facesr_video.errors import InputError
from facesr_video.sr.neighbours import warp_neighbours
from facesr_video.sr.weights import load_model
from facesr_video.training.config import TrainConfig
from facesr_video.training.loop import train
from tests.dataset.conftest import LAYOUT, make_store, synthetic_sample

OFFSETS = (-2, -1, 1, 2)
SHIFTS = {-2: (2, -1), -1: (1, 0), 1: (-1, 1), 2: (0, 2)}  # LR px (dx, dy) of the face at t+d


def _moved(hr: np.ndarray, dx: int, dy: int, scale: int) -> np.ndarray:
    """The image content moved by (dx, dy) LR px (edges repeated)."""
    pad = 3 * scale
    padded = np.pad(hr, ((pad, pad), (pad, pad), (0, 0)), "edge")
    y0, x0 = pad - dy * scale, pad - dx * scale
    return padded[y0 : y0 + hr.shape[0], x0 : x0 + hr.shape[1]]


def _store(path: Path, scale: int = 4, n: int = 32, clips: int = 1) -> Path:
    rng = np.random.default_rng(1)
    with StoreWriter(path, scale, LAYOUT, shard_size=2, neighbours=OFFSETS) as writer:
        for frame in range(3 * clips):
            base = synthetic_sample(rng, f"clip{frame // 3}.mp4", 0, frame, n, scale)
            hr = np.stack([_moved(base.hr, *SHIFTS[d], scale) for d in OFFSETS])
            flow = np.zeros((4, 2, n, n), np.float16)
            for i, d in enumerate(OFFSETS):
                flow[i, 0], flow[i, 1] = SHIFTS[d]
            conf = np.ones((4, 1, n, n), np.float16)
            conf[3] = 0  # t+2 is missing (a track end)
            nb = NeighbourSample(hr, {"mesh": flow, "box": flow}, {"mesh": conf, "box": conf})
            writer.append(StoreSample(**{**base.__dict__, "neighbours": nb}))
    return path


def _luma(images: torch.Tensor) -> torch.Tensor:
    """(..., 3, h, w) -> (..., 1, h, w) brightness: what 4:2:0 keeps at full resolution."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    return (images * weights).sum(dim=-3, keepdim=True)


def _errors(dataset: PatchDataset, seeds: range) -> tuple[list[float], list[float], int]:
    """Mean |warped - current| brightness over trusted pixels, the same for the unwarped
    windows, and the number of flipped items."""
    warped_err, raw_err, flips = [], [], 0
    m = (dataset[(0, 0)].nb_lr.shape[-1] - dataset.patch) // 2
    for seed in seeds:
        item = dataset[(seed % len(dataset), seed)]
        nb = warp_neighbours(item.lr[None], item.nb_lr[None], item.nb_pos[None], item.nb_conf[None])
        trusted = item.nb_conf[None] > 0.5
        assert not bool(trusted[:, 3].any()), "the missing neighbour must stay untrusted"
        inner = (slice(None), slice(None), slice(None), slice(2, -2), slice(2, -2))
        diff = _luma(nb.warped - item.lr[None, None]).abs()[inner]
        warped_err.append(float(diff[trusted[inner]].mean()))
        raw = _luma(item.nb_lr[:, :, m:-m, m:-m] - item.lr[None])
        raw_err.append(float(raw[:3].abs().mean()))
        # Neighbour t-2 moved right (+2 LR px): a flipped item sees it move left.
        columns = torch.arange(dataset.patch, dtype=torch.float32) + m
        flips += int(float((item.nb_pos[0, ..., 0] - columns).mean()) < 0)
    return warped_err, raw_err, flips


def test_neighbour_indices_take_a_centred_window() -> None:
    assert neighbour_indices(OFFSETS, 2) == [1, 2]
    assert neighbour_indices(OFFSETS, 0) == []
    with pytest.raises(ValueError, match="--neighbours 2"):
        neighbour_indices((-1, 1), 4)


def test_store_keeps_neighbours_and_old_single_frame_stores_still_load(tmp_path: Path) -> None:
    reader = StoreReader(_store(tmp_path / "s"))
    assert reader.neighbours == OFFSETS and reader.manifest.version == 2
    files = {shard.file for shard in reader.manifest.shards}
    assert len(files) == 2 and all((tmp_path / "s" / f).is_file() for f in files)
    for index in range(3):
        sample = reader[index]
        assert sample.frame == index and sample.neighbours is not None
        assert sample.neighbours.hr.shape == (4, 128, 128, 3)
    assert float(sample.neighbours.flow["mesh"][2, 1].mean()) == 1.0
    manifest = tmp_path / "s" / "manifest.json"
    import json

    data = json.loads(manifest.read_text())
    data["version"] = 1
    del data["neighbours"]
    manifest.write_text(json.dumps(data))
    old = StoreReader(tmp_path / "s")
    assert old.neighbours == () and old[0].neighbours is None


CODED = replace(DEGRADATIONS["h264"], h264_crf=(1, 1))
"""The patch and its neighbours coded as one nearly lossless stream, so any misplacement shows."""


@pytest.mark.parametrize(
    ("shrink", "coded"), [((1.0, 1.0), False), ((0.6, 0.8), False), ((1.0, 1.0), True)]
)
def test_warped_neighbours_land_on_the_patch(
    tmp_path: Path, shrink: tuple[float, float], coded: bool
) -> None:
    reader = StoreReader(_store(tmp_path / "s"))
    dataset = PatchDataset(
        reader,
        [0, 1, 2],
        16,
        train=True,
        # deterministic: neighbours differ by motion only
        degrade_config=CODED if coded else DEGRADATIONS["bicubic"],
        augment=Augment(flip=True, scale=shrink, min_face=4.0),
        mirror=None,
        coeffs_used=False,
        neighbours=4,
    )
    warped, raw, flips = _errors(dataset, range(12))
    assert 0 < flips < 12, "both flipped and unflipped items were checked"
    # Whole-pixel shifts are exact; shrunk ones are fractional, read bilinearly from aliased
    # sharp-edged blobs (an offset of 0.1 px either way measured no better: the error is blur).
    # Coded: the codec's own loss (4:2:0 chroma of saturated blobs), in every frame.
    limit = 0.01 if coded else 1e-4 if shrink == (1.0, 1.0) else 0.02
    assert max(warped) < limit, warped
    assert min(raw) > 0.005 and sum(raw) > 2.5 * sum(warped), raw


def test_a_single_frame_network_reads_a_neighbour_store_as_before(tmp_path: Path) -> None:
    reader = StoreReader(_store(tmp_path / "s"))
    item = PatchDataset(reader, [0], 16, train=False)[(0, 0)]
    assert item.nb_lr.shape[0] == 0 and item.lr.shape == (3, 16, 16)
    assert torch.isfinite(item.hr).all()


def _tiny(steps: int, holdout: str) -> TrainConfig:
    """A few steps on a synthetic store, validated on one clip."""
    return TrainConfig(
        steps=steps,
        batch_size=2,
        patch=8,
        warmup_steps=1,
        eval_every=steps,
        checkpoint_every=steps,
        quiet=True,
        holdout=(holdout,),
        flip=False,
        scale_augment=(1.0, 1.0),
    )


def test_multi_frame_training_starts_from_a_single_frame_parent(tmp_path: Path) -> None:
    config = _tiny(4, "clip1.mp4")
    store = _store(tmp_path / "s", clips=2)
    parent = train(store, 4, tmp_path / "single", config)
    fused = train(store, 4, tmp_path / "fused", replace(config, frames=5, init=str(parent.weights)))
    model, _ = load_model(fused.weights)
    assert model.config.frames == 5 and model.fusion is not None
    assert float(model.fusion.out.weight.detach().abs().sum()) > 0  # the fusion learned something
    # --trainable fusion: only the fusion learns; the single-frame parent is kept bit for bit.
    frozen = train(
        store,
        4,
        tmp_path / "fusion-only",
        replace(config, frames=5, init=str(parent.weights), trainable=("fusion.",)),
    )
    start, _ = load_model(parent.weights)
    after, _ = load_model(frozen.weights)
    kept = start.state_dict()
    for name, tensor in after.state_dict().items():
        if name.startswith("fusion."):
            continue
        assert torch.equal(tensor, kept[name]), name
    assert float(after.fusion.out.weight.detach().abs().sum()) > 0
    with pytest.raises(InputError, match="--neighbours 2"):
        train(make_store(tmp_path / "plain"), 4, tmp_path / "bad", replace(config, frames=5))


def test_an_x4_store_trains_x2_from_x4_weights(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s")
    reader = StoreReader(store, scale=2)
    assert reader.scale == 2 and reader.lr_sizes[0] == 2 * StoreReader(store).lr_sizes[0]
    sample = reader[0]
    assert sample.lr.shape[0] * 2 == sample.hr.shape[0]
    config = _tiny(2, "clip2.mp4")
    x4 = train(store, 4, tmp_path / "x4", config)
    x2 = train(store, 2, tmp_path / "x2", replace(config, init=str(x4.weights)))
    model, _ = load_model(x2.weights)
    parent, _ = load_model(x4.weights)
    assert model.config.scale == 2
    # The shared layers came from the x4 weights (two small steps since), not a fresh init.
    assert torch.allclose(model.head.weight, parent.head.weight, atol=1e-2)
    with pytest.raises(InputError, match="factor"):
        StoreReader(store, scale=3)


def test_stills_get_moved_copies_with_exact_motion(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "plain", lr_sizes=(32,)))
    dataset = PatchDataset(
        reader,
        list(range(len(reader))),
        16,
        train=True,
        degrade_config=DEGRADATIONS["bicubic"],
        augment=Augment(flip=True, scale=(1.0, 1.0)),
        coeffs_used=False,
        neighbours=4,
        synthetic_neighbours=True,
    )
    item = dataset[(0, 5)]
    assert item.nb_conf.shape == (4, 1, 16, 16) and float(item.nb_conf.min()) == 1.0
    nb = warp_neighbours(item.lr[None], item.nb_lr[None], item.nb_pos[None], item.nb_conf[None])
    warped = float((nb.warped[0] - item.lr).abs()[..., 2:-2, 2:-2].mean())
    m = (item.nb_lr.shape[-1] - 16) // 2
    unwarped = float((item.nb_lr[..., m:-m, m:-m] - item.lr).abs().mean())
    assert warped < 0.5 * unwarped, (warped, unwarped)
