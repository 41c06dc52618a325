"""Part stores -> one store: how `extract-priors --jobs` joins what its processes wrote.

Each process of a parallel run writes an ordinary store (its part) for its share of the inputs.
Merging adds every part's shards to the target store under the next shard names (hard links, a
copy where the filesystem has none), writes the target's manifest once, then merges the parts'
records (complete sources, skipped faces) and overlay videos. Until the manifest is written the
target is unchanged and the parts are intact, so a merge cut short can simply run again.

A part may hold samples the target already has (a source that an earlier, interrupted run had
partly stored): such a shard's new samples are copied sample by sample, the others are left out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from facesr_video.dataset.extract_log import ExtractLog
from facesr_video.dataset.extract_options import OVERLAY_DIR
from facesr_video.dataset.store import (
    MANIFEST,
    SampleKey,
    ShardEntry,
    StoreManifest,
    StoreReader,
    StoreWriter,
    read_manifest,
)
from facesr_video.errors import InputError
from facesr_video.files import write_whole

DEDUPLICATED = ".deduplicated"  # inside a part: its shards rewritten without samples stored already


def merge_parts(out: Path, parts: Sequence[Path]) -> int:
    """Add the samples, records and overlays of the stores `parts` to the store `out` (created
    when missing); returns the number of samples added. Parts without a manifest are ignored."""
    parts = [Path(p) for p in parts if (Path(p) / MANIFEST).is_file()]
    if not parts:
        return 0
    manifest = _target_manifest(out, read_manifest(parts[0]))
    stored = {key for shard in manifest.shards for key in shard.keys}
    entries = list(manifest.shards)
    for part in parts:
        for folder, shard in _new_shards(part, stored, manifest):
            name = f"shard-{len(entries):06d}.safetensors"
            _link(folder / shard.file, out / name)
            entries.append(replace(shard, file=name))
            stored.update(shard.keys)
    added = sum(len(s.keys) for s in entries) - manifest.num_samples
    merged = replace(manifest, shards=tuple(entries))
    write_whole(out / MANIFEST, lambda partial: partial.write_text(merged.to_json()), sync=True)
    _merge_records(out, parts)
    for part in parts:
        _move_overlays(part, out)
    return added


def _target_manifest(out: Path, first: StoreManifest) -> StoreManifest:
    """The target store's manifest, or an empty one shaped like the first part's."""
    if (out / MANIFEST).is_file():
        return read_manifest(out)
    out.mkdir(parents=True, exist_ok=True)
    return StoreManifest(first.scale, first.layout, (), first.neighbours)


def _new_shards(
    part: Path, stored: set[SampleKey], target: StoreManifest
) -> list[tuple[Path, ShardEntry]]:
    """The part's shards to add, with the folder each lies in; shards that repeat stored samples
    are replaced by a rewrite of their new samples alone."""
    manifest = read_manifest(part)
    if (manifest.scale, manifest.layout, manifest.neighbours) != (
        target.scale,
        target.layout,
        target.neighbours,
    ):
        raise InputError(
            f"part store {part} was made with another scale, prior layout or neighbours than "
            f"the x{target.scale} store it joins",
            hint="remove the part folder, or run again with the settings it was made with",
        )
    shards: list[tuple[Path, ShardEntry]] = []
    for shard in manifest.shards:
        if stored.isdisjoint(shard.keys):
            shards.append((part, shard))
        else:
            shards.extend(_without_stored(part, shard, stored, manifest))
    return shards


def _without_stored(
    part: Path, shard: ShardEntry, stored: set[SampleKey], manifest: StoreManifest
) -> list[tuple[Path, ShardEntry]]:
    """One shard's samples that `stored` lacks, written as shards of their own."""
    reader = StoreReader(part)
    first = reader.keys.index(shard.keys[0])
    folder = part / DEDUPLICATED / Path(shard.file).stem
    shutil.rmtree(folder, ignore_errors=True)
    with StoreWriter(
        folder, manifest.scale, manifest.layout, len(shard.keys), neighbours=manifest.neighbours
    ) as writer:
        for index in range(first, first + len(shard.keys)):
            if reader.keys[index] not in stored:
                writer.append(reader[index])
    return [(folder, entry) for entry in read_manifest(folder).shards]


def _link(source: Path, target: Path) -> None:
    """`target` becomes `source`'s content: a hard link where possible, else a copy. A file
    already there is the leftover of a merge cut short (no manifest names it): replaced."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _merge_records(out: Path, parts: Sequence[Path]) -> None:
    """The parts' complete sources and skip records, added to the target's."""
    log = ExtractLog(out)
    for part in parts:
        found = ExtractLog(part)
        log.done.update(found.done)
        for source, records in found.skipped.items():
            log.set_skipped(source, records)
    log.save()


def _move_overlays(part: Path, out: Path) -> None:
    """The part's overlay videos, moved to the same place under the target."""
    folder = part / OVERLAY_DIR
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = out / OVERLAY_DIR / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
