"""Priors store: round trip, crash safety, resume without duplicates, version and layout errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facesr_video.dataset.store import (
    MANIFEST,
    LayoutInfo,
    StoreReader,
    StoreWriter,
    holdout_sources,
    read_manifest,
)
from facesr_video.errors import InputError
from tests.dataset.conftest import LAYOUT, make_store, synthetic_sample


def test_round_trip_keeps_every_array_and_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    samples = [
        synthetic_sample(rng, f"v{i % 2}.mp4", i % 3, i, (16, 24)[i % 2], 4) for i in range(7)
    ]
    with StoreWriter(tmp_path / "s", 4, LAYOUT, shard_size=3) as writer:
        for s in samples:
            assert writer.append(s)
    reader = StoreReader(tmp_path / "s")
    assert len(reader) == 7 and len(reader.manifest.shards) == 3
    for original, index in zip(samples, range(7), strict=True):
        back = reader[index]
        assert back.key == original.key
        np.testing.assert_array_equal(back.hr, original.hr)
        np.testing.assert_array_equal(back.lr, original.lr)
        np.testing.assert_array_equal(back.priors, original.priors)
        np.testing.assert_array_equal(back.coeffs, original.coeffs)
        assert back.priors.dtype == np.float16 and back.coeffs.dtype == np.float32
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    assert manifest["num_samples"] == 7 and manifest["scale"] == 4
    assert manifest["layout"]["channels"] == list(LAYOUT.channels)


def test_resume_skips_stored_keys(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", sources=2, per_source=3)
    rng = np.random.default_rng(0)
    with StoreWriter(store, 4, LAYOUT, shard_size=5) as writer:
        assert writer.has("clip0.mp4", 0, 1)
        assert not writer.append(synthetic_sample(rng, "clip0.mp4", 0, 1, 16, 4))
        assert writer.append(synthetic_sample(rng, "clip0.mp4", 0, 99, 16, 4))
        assert writer.num_samples == 7
    keys = StoreReader(store).keys
    assert len(keys) == len(set(keys)) == 7


def test_interrupted_shard_does_not_corrupt_the_store(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", sources=1, per_source=5, shard_size=5)
    rng = np.random.default_rng(1)
    # A crash: buffered samples never flushed, plus debris of a shard being written.
    writer = StoreWriter(store, 4, LAYOUT, shard_size=5)
    writer.append(synthetic_sample(rng, "late.mp4", 0, 0, 16, 4))
    del writer
    (store / "shard-000001.safetensors.tmp").write_bytes(b"half written")
    (store / "shard-000001.safetensors").write_bytes(b"renamed but never committed")
    reader = StoreReader(store)
    assert len(reader) == 5
    assert reader[4].hr.shape == (64, 64, 3) or reader[4].hr.shape == (96, 96, 3)
    # The rerun redoes the lost sample once and overwrites the debris.
    with StoreWriter(store, 4, LAYOUT, shard_size=5) as writer:
        assert writer.append(synthetic_sample(rng, "late.mp4", 0, 0, 16, 4))
    reader = StoreReader(store)
    assert len(reader) == 6 and reader[5].source == "late.mp4"


def test_other_format_version_is_a_clear_error(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", sources=1, per_source=2)
    data = json.loads((store / MANIFEST).read_text())
    data["version"] = 99
    (store / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(InputError, match="version 99"):
        StoreReader(store)
    with pytest.raises(InputError, match="version 99"):
        StoreWriter(store, 4, LAYOUT)
    with pytest.raises(InputError, match="not a priors store"):
        read_manifest(tmp_path)


def test_appending_another_scale_or_layout_is_refused(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", sources=1, per_source=2)
    with pytest.raises(InputError, match="x4 samples, not x8"):
        StoreWriter(store, 8, LAYOUT)
    other = LayoutInfo("priors-test-v2", LAYOUT.channels, LAYOUT.coeff_dim)
    with pytest.raises(InputError, match="priors-test-v1"):
        StoreWriter(store, 4, other)


def test_sample_shapes_are_checked(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good = synthetic_sample(rng, "a", 0, 0, 16, 4)
    with StoreWriter(tmp_path / "s", 4, LAYOUT) as writer:
        with pytest.raises(ValueError, match="priors"):
            writer.append(
                synthetic_sample(rng, "a", 0, 1, 16, 4).__class__(
                    good.hr, good.lr, good.priors[:2], good.coeffs, "a", 0, 1
                )
            )
        with pytest.raises(ValueError, match="hr"):
            writer.append(
                good.__class__(good.hr[:32], good.lr, good.priors, good.coeffs, "a", 0, 2)
            )


def test_split_by_source_is_disjoint(tmp_path: Path) -> None:
    reader = StoreReader(make_store(tmp_path / "s", sources=4, per_source=3))
    held = holdout_sources(reader.sources(), 0.25, seed=0)
    assert len(held) == 1
    train, val = reader.split(held)
    assert len(train) == 9 and len(val) == 3
    assert {reader.keys[i].source for i in val} == set(held)
    assert not {reader.keys[i].source for i in train} & set(held)
    assert holdout_sources(["only"], 0.5) == []


def test_holdout_patterns_match_exact_ids_and_globs() -> None:
    from facesr_video.dataset.store import match_sources

    sources = ["frl_640/london_010_03.png", "frl_640/london_011_03.png", "congress/A5.jpg"]
    assert match_sources(sources, ["frl_*/*_0?0*"]) == ["frl_640/london_010_03.png"]
    assert match_sources(sources, ["congress/A5.jpg", "nothing"]) == ["congress/A5.jpg"]
    assert match_sources(sources, []) == []
