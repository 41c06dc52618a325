"""extract-priors --jobs: inputs split by cost, part stores merged into one, and a run in two
processes storing the samples one process stores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesr_video.cli import main
from facesr_video.dataset.extract_jobs import PARTS_DIR, split_by_cost
from facesr_video.dataset.extract_log import DONE_FILE, SKIPPED_FILE, ExtractLog, SkipRecord
from facesr_video.dataset.extract_options import SHEET_FILE
from facesr_video.dataset.inputs import InputItem
from facesr_video.dataset.store import StoreReader, StoreWriter
from facesr_video.dataset.store_merge import merge_parts
from tests.conftest import DATA, ICT_NPZ, require
from tests.dataset.conftest import LAYOUT, synthetic_sample
from tests.dataset.test_extract import make_folder

CLIP = DATA / "videos" / "grid" / "bbaf2n.mpg"


def _items(costs: list[float]) -> tuple[list[InputItem], dict[str, float]]:
    items = [InputItem("video", Path(f"v{i}.mp4"), f"v{i}.mp4") for i in range(len(costs))]
    return items, {item.source: c for item, c in zip(items, costs, strict=True)}


def test_split_by_cost_balances_and_keeps_the_order() -> None:
    items, cost = _items([10, 1, 1, 1, 9, 1, 1, 4])
    shares = split_by_cost(items, 2, lambda item: cost[item.source])
    assert sorted(i.source for share in shares for i in share) == sorted(i.source for i in items)
    totals = [sum(cost[i.source] for i in share) for share in shares]
    assert totals == [14, 14]
    for share in shares:
        assert share == sorted(share, key=items.index)
    assert len(split_by_cost(items[:2], 8, lambda item: 1.0)) == 2  # never an empty share
    assert split_by_cost([], 3, lambda item: 1.0) == []


def _part(path: Path, sources: list[str], frames: range, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with StoreWriter(path, 4, LAYOUT, shard_size=3) as writer:
        for source in sources:
            for frame in frames:
                writer.append(synthetic_sample(rng, source, 0, frame, 16, 4))
    log = ExtractLog(path)
    log.mark_done(sources, {s: len(frames) for s in sources}, "settings")
    log.set_skipped(sources[0], [SkipRecord(sources[0], "no face", 2)])
    log.save()
    return path


def test_merge_parts_joins_shards_records_and_skips_stored_samples(tmp_path: Path) -> None:
    a = _part(tmp_path / "a", ["a.mp4"], range(4), 0)
    b = _part(tmp_path / "b", ["b.mp4", "c.mp4"], range(2), 1)
    out = tmp_path / "out"
    assert merge_parts(out, [a, b, tmp_path / "not-a-store"]) == 8
    merged = StoreReader(out)
    parts = [StoreReader(a), StoreReader(b)]
    assert list(merged.keys) == [*parts[0].keys, *parts[1].keys]
    for index, (part, i) in enumerate([(p, i) for p in parts for i in range(len(p))]):
        assert np.array_equal(merged[index].hr, part[i].hr)
    done = ExtractLog(out)
    assert set(done.done) == {"a.mp4", "b.mp4", "c.mp4"} and set(done.skipped) == {"a.mp4", "b.mp4"}
    # a part repeating samples the store holds (a source an earlier run had partly stored)
    again = _part(tmp_path / "again", ["c.mp4"], range(3), 2)
    assert merge_parts(out, [again]) == 1
    merged = StoreReader(out)
    assert len(merged) == 9 and len(set(merged.keys)) == 9
    assert merged.keys[-1].source == "c.mp4" and merged.keys[-1].frame == 2


def _extract(tmp_path: Path, inputs: list[Path], jobs: int) -> Path:
    out = tmp_path / f"store-{jobs}"
    args = ["-q", "extract-priors", *map(str, inputs), "--out", str(out), "--scale", "4"]
    args += ["--face-model", str(ICT_NPZ), "--max-frames", "3", "--degradation", "bicubic"]
    assert main([*args, "--jobs", str(jobs), "--device", "cpu"]) == 0
    return out


@pytest.mark.slow
def test_two_processes_store_the_samples_of_one(tmp_path: Path) -> None:
    require(ICT_NPZ)
    portraits = make_folder(tmp_path / "portraits", ("A000014.jpg", "A000022.jpg", "A000055.jpg"))
    clip = tmp_path / "clip.mpg"
    shutil.copy(require(CLIP), clip)
    one = _extract(tmp_path, [portraits, clip], 1)
    two = _extract(tmp_path, [portraits, clip], 2)
    a, b = StoreReader(one), StoreReader(two)
    assert len(a) == 6 and sorted(a.keys, key=str) == sorted(b.keys, key=str)
    order = {key: i for i, key in enumerate(b.keys)}
    for i, key in enumerate(a.keys):
        assert np.array_equal(a[i].lr, b[order[key]].lr), key
        assert np.allclose(a[i].priors, b[order[key]].priors, atol=2e-3), key
    assert not (two / PARTS_DIR).exists()
    for name in (DONE_FILE, SKIPPED_FILE):
        assert json.loads((one / name).read_text()) == json.loads((two / name).read_text())
    sheets = [np.asarray(Image.open(s / SHEET_FILE), dtype=np.int16) for s in (one, two)]
    assert sheets[0].shape == sheets[1].shape and np.abs(sheets[0] - sheets[1]).mean() < 0.5
    # a rerun finds every source complete and starts no process
    assert _extract(tmp_path, [portraits, clip], 2) == two and len(StoreReader(two)) == 6


@pytest.mark.slow
def test_parts_left_by_a_killed_run_join_the_store_first(tmp_path: Path) -> None:
    require(ICT_NPZ)
    portraits = make_folder(tmp_path / "portraits", ("A000014.jpg", "A000022.jpg"))
    out = tmp_path / "store-2"
    (out / PARTS_DIR).mkdir(parents=True)
    _extract(tmp_path, [portraits], 1).rename(out / PARTS_DIR / "part-1")  # as if killed
    other = tmp_path / "more"
    other.mkdir()
    shutil.copy(require(DATA / "faces" / "congress" / "A000069.jpg"), other / "A000069.jpg")
    assert _extract(tmp_path, [portraits, other], 2) == out
    keys = sorted(k.source for k in StoreReader(out).keys)
    assert keys == ["more/A000069.jpg", "portraits/A000014.jpg", "portraits/A000022.jpg"]
    done = ExtractLog(out).done
    assert "portraits/grey.png" in done and not (out / PARTS_DIR).exists()
