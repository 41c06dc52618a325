"""The extract-priors store: aligned face samples with their 3D priors, the training set of `train`.

Layout of a store folder (format ``facesr-priors-store``, version 2; version 1 stores, which
have no neighbours, still load)::

    STORE/
      manifest.json           format, version, scale, prior layout (version + channel names),
                              coefficient length, sample count, and the shard list; each shard
                              entry lists its samples' keys (source, track, frame) and LR size
      shard-000000.safetensors
      shard-000001.safetensors ...

A shard is one safetensors file holding up to `shard_size` samples and up to `shard_bytes` of
tensors (`SHARD_BYTES`: a shard is built in memory before it is written, and 512 samples of 720p
faces are ~4 GB), as separate tensors, so samples may differ in crop size: ``{i}.hr`` uint8
(S*n, S*n, 3), ``{i}.lr`` uint8 (n, n, 3), ``{i}.priors`` float16 (C, S*n, S*n), ``{i}.coeffs``
float32 (D,), with i the position in the shard. A store made with neighbours (manifest
``neighbours``: frame offsets such as [-2, -1, 1, 2]) adds, for samples of videos,
``{i}.nb_hr`` uint8 (N, S*n, S*n, 3): the neighbour frames' pixels in this sample's crop window
(zeros where the face is not in that frame), and per registration r in ``mesh``, ``box``
``{i}.nb_{r}_flow`` float16 (N, 2, n, n) and ``{i}.nb_{r}_conf`` float16 (N, 1, n, n)
(analysis/motion.py). Readers memory-map shards (safetensors
`safe_open`), so a DataLoader worker touches only the samples it reads.

Append-only and crash-safe: samples are buffered and a full shard is written to a temporary file,
renamed into place, and only then added to the manifest (itself replaced atomically). A crash
leaves at most an orphan shard or temporary file that the manifest does not name; the next writer
overwrites it. Keys in the manifest are what is stored, so a rerun skips them (no duplicates).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.errors import InputError, OutputError
from facesr_video.files import write_whole
from facesr_video.sr.neighbours import REGISTRATIONS

FORMAT = "facesr-priors-store"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
SHARD_BYTES = 256 * 2**20
"""Most tensor bytes per shard, and so most bytes a writer buffers before writing one."""


@dataclass(frozen=True)
class LayoutInfo:
    """A store's prior layout: version string, ordered map channel names, coefficient length."""

    version: str
    channels: tuple[str, ...]
    coeff_dim: int


@dataclass(frozen=True)
class SampleKey:
    """Identifies a face sample: which input, which track, which frame."""

    source: str
    track: int
    frame: int


@dataclass(frozen=True)
class NeighbourSample:
    """A sample's neighbouring frames (see the module docstring for shapes); zero confidence
    marks a neighbour that is missing (track start or end, a cut, the face left)."""

    hr: np.ndarray
    flow: dict[str, np.ndarray]  # registration -> (N, 2, n, n)
    confidence: dict[str, np.ndarray]  # registration -> (N, 1, n, n)

    @property
    def stored_bytes(self) -> int:
        maps = sum(f.size for f in self.flow.values()) + sum(
            c.size for c in self.confidence.values()
        )
        return self.hr.size + 2 * maps


@dataclass(frozen=True)
class StoreSample:
    """One face: hr (S*n, S*n, 3) uint8, lr (n, n, 3) uint8 (the fit was made on it),
    priors (C, S*n, S*n) float16 at HR crop size, coeffs (D,) float32."""

    hr: np.ndarray
    lr: np.ndarray
    priors: np.ndarray
    coeffs: np.ndarray
    source: str
    track: int
    frame: int
    neighbours: NeighbourSample | None = None  # None: a still, or a store without neighbours

    @property
    def key(self) -> SampleKey:
        return SampleKey(self.source, self.track, self.frame)

    @property
    def stored_bytes(self) -> int:
        """Bytes of its tensors as stored (priors float16, coeffs float32)."""
        size = self.hr.size + self.lr.size + 2 * self.priors.size + 4 * self.coeffs.size
        return size + (self.neighbours.stored_bytes if self.neighbours is not None else 0)


@dataclass(frozen=True)
class ShardEntry:
    file: str
    keys: tuple[SampleKey, ...]
    lr_sizes: tuple[int, ...]


@dataclass(frozen=True)
class StoreManifest:
    scale: int
    layout: LayoutInfo
    shards: tuple[ShardEntry, ...]
    neighbours: tuple[int, ...] = ()  # frame offsets stored with video samples
    version: int = VERSION

    @property
    def num_samples(self) -> int:
        return sum(len(s.keys) for s in self.shards)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "scale": self.scale,
                "neighbours": list(self.neighbours),
                "layout": {"version": self.layout.version, "channels": list(self.layout.channels)},
                "coeff_dim": self.layout.coeff_dim,
                "num_samples": self.num_samples,
                "shards": [
                    {
                        "file": s.file,
                        "count": len(s.keys),
                        "samples": [[k.source, k.track, k.frame] for k in s.keys],
                        "lr_sizes": list(s.lr_sizes),
                    }
                    for s in self.shards
                ],
            },
            indent=1,
        )


def read_manifest(path: Path) -> StoreManifest:
    """Parse STORE/manifest.json; another format or version is a clear InputError."""
    path = Path(path)
    file = path / MANIFEST
    if not file.is_file():
        raise InputError(
            f"not a priors store (no {MANIFEST}): {path}",
            hint="make one with `facesr-video extract-priors ... --out STORE`",
        )
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"store manifest is unreadable: {file} ({error})") from error
    if data.get("format") != FORMAT:
        raise InputError(f"{path} is not a {FORMAT} (format {data.get('format')!r})")
    if data.get("version") not in READABLE_VERSIONS:
        raise InputError(
            f"store {path} has format version {data.get('version')}, this facesr-video "
            f"reads versions {', '.join(map(str, READABLE_VERSIONS))}",
            hint="rebuild it with this version's extract-priors into a new folder",
        )
    try:
        layout = LayoutInfo(
            str(data["layout"]["version"]),
            tuple(data["layout"]["channels"]),
            int(data["coeff_dim"]),
        )
        shards = tuple(
            ShardEntry(
                s["file"],
                tuple(SampleKey(str(a), int(b), int(c)) for a, b, c in s["samples"]),
                tuple(int(n) for n in s["lr_sizes"]),
            )
            for s in data["shards"]
        )
        neighbours = tuple(int(d) for d in data.get("neighbours", ()))
        return StoreManifest(int(data["scale"]), layout, shards, neighbours, int(data["version"]))
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"store manifest is corrupt: {file} ({error})") from error


def _atomic_write_text(path: Path, text: str) -> None:
    write_whole(path, lambda partial: partial.write_text(text), sync=True)


class StoreWriter:
    """Appends samples to a store (new or existing), a shard at a time; skips stored keys.

    Use as a context manager, or call `close()`: buffered samples are only kept once flushed.
    """

    def __init__(
        self,
        path: Path,
        scale: int,
        layout: LayoutInfo,
        shard_size: int = 256,
        shard_bytes: int = SHARD_BYTES,
        neighbours: tuple[int, ...] = (),
    ) -> None:
        self.path = Path(path)
        self.neighbours = tuple(neighbours)
        self.scale = scale
        self.layout = layout
        self.shard_size = shard_size
        self.shard_bytes = shard_bytes
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"store path is a file, not a folder: {self.path}")
        if (self.path / MANIFEST).exists():
            manifest = read_manifest(self.path)
            if manifest.scale != scale:
                raise InputError(
                    f"store {self.path} holds x{manifest.scale} samples, not x{scale}",
                    hint="use another --out folder for another scale",
                )
            if manifest.layout != layout:
                raise InputError(
                    f"store {self.path} uses prior layout {manifest.layout.version!r} "
                    f"({len(manifest.layout.channels)} channels), not {layout.version!r}",
                    hint="use another --out folder or rebuild the store",
                )
            if manifest.neighbours != self.neighbours:
                raise InputError(
                    f"store {self.path} holds neighbours {list(manifest.neighbours)}, this run "
                    f"makes {list(self.neighbours)}",
                    hint="use the store's --neighbours or another --out folder",
                )
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            manifest = StoreManifest(scale, layout, (), self.neighbours)
            _atomic_write_text(self.path / MANIFEST, manifest.to_json())
        self._manifest = manifest
        self._stored = {k for s in manifest.shards for k in s.keys}
        self._buffer: list[StoreSample] = []
        self._buffer_bytes = 0

    @property
    def num_samples(self) -> int:
        """Samples stored (flushed) plus buffered."""
        return self._manifest.num_samples + len(self._buffer)

    @property
    def num_shards(self) -> int:
        """Shards written (committed to the manifest)."""
        return len(self._manifest.shards)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the samples waiting for the next shard."""
        return self._buffer_bytes

    def buffered_sources(self) -> set[str]:
        """Sources with samples waiting for the next shard (not yet safe on disk)."""
        return {s.source for s in self._buffer}

    def has(self, source: str, track: int, frame: int) -> bool:
        """True if this key is stored or buffered (so a resumed run can skip the work)."""
        return SampleKey(source, track, frame) in self._stored

    def append(self, sample: StoreSample) -> bool:
        """Buffer a sample; False (and nothing done) if its key is already there."""
        if sample.key in self._stored:
            return False
        self._check(sample)
        if self._buffer and self._buffer_bytes + sample.stored_bytes > self.shard_bytes:
            self.flush()  # the shard is full by bytes: memory stays bounded too
        self._buffer.append(sample)
        self._buffer_bytes += sample.stored_bytes
        self._stored.add(sample.key)
        if len(self._buffer) >= self.shard_size or self._buffer_bytes >= self.shard_bytes:
            self.flush()
        return True

    def flush(self) -> None:
        """Write buffered samples as one shard and commit it to the manifest."""
        if not self._buffer:
            return
        index = len(self._manifest.shards)
        name = f"shard-{index:06d}.safetensors"
        tensors: dict[str, np.ndarray] = {}
        for i, s in enumerate(self._buffer):
            tensors[f"{i}.hr"] = np.ascontiguousarray(s.hr, dtype=np.uint8)
            tensors[f"{i}.lr"] = np.ascontiguousarray(s.lr, dtype=np.uint8)
            tensors[f"{i}.priors"] = np.ascontiguousarray(s.priors, dtype=np.float16)
            tensors[f"{i}.coeffs"] = np.ascontiguousarray(s.coeffs, dtype=np.float32)
            if s.neighbours is not None:
                nb = s.neighbours
                tensors[f"{i}.nb_hr"] = np.ascontiguousarray(nb.hr, dtype=np.uint8)
                for registration in nb.flow:
                    flow, conf = nb.flow[registration], nb.confidence[registration]
                    tensors[f"{i}.nb_{registration}_flow"] = np.ascontiguousarray(flow, np.float16)
                    tensors[f"{i}.nb_{registration}_conf"] = np.ascontiguousarray(conf, np.float16)
        metadata = {"format": FORMAT, "version": str(self._manifest.version)}
        write_whole(
            self.path / name,
            lambda partial: save_file(tensors, str(partial), metadata=metadata),
            sync=True,
        )
        entry = ShardEntry(
            name,
            tuple(s.key for s in self._buffer),
            tuple(int(s.lr.shape[0]) for s in self._buffer),
        )
        self._manifest = replace(self._manifest, shards=(*self._manifest.shards, entry))
        _atomic_write_text(self.path / MANIFEST, self._manifest.to_json())
        self._buffer = []
        self._buffer_bytes = 0

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # On an error the buffer is still flushed: every buffered sample is complete.
        self.close()

    def _check(self, s: StoreSample) -> None:
        n = s.lr.shape[0]
        big = n * self.scale
        c, d = len(self.layout.channels), self.layout.coeff_dim
        if s.lr.shape != (n, n, 3) or s.hr.shape != (big, big, 3):
            raise ValueError(
                f"lr must be (n, n, 3) and hr (S*n, S*n, 3), got {s.lr.shape}, "
                f"{s.hr.shape} at x{self.scale}"
            )
        if s.priors.shape != (c, big, big):
            raise ValueError(f"priors must be ({c}, {big}, {big}), got {s.priors.shape}")
        if s.coeffs.shape != (d,):
            raise ValueError(f"coeffs must be ({d},), got {s.coeffs.shape}")
        if s.neighbours is not None:
            count = len(self.neighbours)
            if not count:
                raise ValueError("this store was made without neighbours")
            if s.neighbours.hr.shape != (count, big, big, 3):
                raise ValueError(f"nb hr must be ({count}, {big}, {big}, 3)")
            for name in s.neighbours.flow:
                if s.neighbours.flow[name].shape != (count, 2, n, n):
                    raise ValueError(f"nb {name} flow must be ({count}, 2, {n}, {n})")
                if s.neighbours.confidence[name].shape != (count, 1, n, n):
                    raise ValueError(f"nb {name} confidence must be ({count}, 1, {n}, {n})")


class SampleReader(Protocol):
    """What training reads samples through: a StoreReader, or a StoreSet of several stores."""

    keys: tuple[SampleKey, ...]
    lr_sizes: tuple[int, ...]

    @property
    def scale(self) -> int: ...

    @property
    def layout(self) -> LayoutInfo: ...

    @property
    def neighbours(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> StoreSample: ...

    def coefficients(self, index: int) -> np.ndarray: ...


class StoreReader:
    """Random access to the samples of a store; shards are memory-mapped on first use."""

    def __init__(self, path: Path, scale: int | None = None) -> None:
        """`scale`: read a store made for a larger factor at this one (an x4 store trains x2:
        the same HR crops and priors, the LR made by shrinking the HR by `scale`)."""
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        stored = self.manifest.scale
        self._scale = stored if scale is None else int(scale)
        if stored % self._scale:
            raise InputError(
                f"store {self.path} was made for x{stored}; it can train x{stored} or a factor "
                f"of it, not x{self._scale}",
                hint=f"extract a store with --scale {self._scale}",
            )
        factor = stored // self._scale
        self._locations: list[tuple[int, int]] = [
            (si, i) for si, s in enumerate(self.manifest.shards) for i in range(len(s.keys))
        ]
        self.keys: tuple[SampleKey, ...] = tuple(k for s in self.manifest.shards for k in s.keys)
        self.lr_sizes: tuple[int, ...] = tuple(
            n * factor for s in self.manifest.shards for n in s.lr_sizes
        )
        self._open: dict[int, object] = {}

    @property
    def scale(self) -> int:
        return self._scale

    @property
    def rescaled(self) -> bool:
        """True when read at a smaller factor than the store was made for."""
        return self._scale != self.manifest.scale

    @property
    def layout(self) -> LayoutInfo:
        return self.manifest.layout

    @property
    def neighbours(self) -> tuple[int, ...]:
        """Frame offsets of the neighbours stored with video samples (empty: none)."""
        return () if self.rescaled else self.manifest.neighbours

    def __len__(self) -> int:
        return len(self._locations)

    def __getitem__(self, index: int) -> StoreSample:
        shard, i = self._locations[index]
        f = self._shard(shard)
        key = self.keys[index]
        try:
            hr = f.get_tensor(f"{i}.hr")  # type: ignore[attr-defined]
            return StoreSample(
                neighbours=None if self.rescaled else self._neighbours(f, i),
                hr=hr,
                lr=downscale(hr, self._scale) if self.rescaled else f.get_tensor(f"{i}.lr"),  # type: ignore[attr-defined]
                priors=f.get_tensor(f"{i}.priors"),  # type: ignore[attr-defined]
                coeffs=f.get_tensor(f"{i}.coeffs"),  # type: ignore[attr-defined]
                source=key.source,
                track=key.track,
                frame=key.frame,
            )
        except (SafetensorError, KeyError) as error:
            raise self._damaged(shard) from error

    def coefficients(self, index: int) -> np.ndarray:
        """(D,) the sample's coefficient vector alone (no image is read)."""
        shard, i = self._locations[index]
        try:
            return self._shard(shard).get_tensor(f"{i}.coeffs")  # type: ignore[attr-defined]
        except (SafetensorError, KeyError) as error:
            raise self._damaged(shard) from error

    def _damaged(self, shard: int) -> InputError:
        return InputError(f"store shard is damaged: {self.manifest.shards[shard].file}")

    def _neighbours(self, f: object, i: int) -> NeighbourSample | None:
        if not self.neighbours or f"{i}.nb_hr" not in f.keys():  # type: ignore[attr-defined]  # noqa: SIM118
            return None
        get = f.get_tensor  # type: ignore[attr-defined]
        return NeighbourSample(
            hr=get(f"{i}.nb_hr"),
            flow={r: get(f"{i}.nb_{r}_flow") for r in REGISTRATIONS},
            confidence={r: get(f"{i}.nb_{r}_conf") for r in REGISTRATIONS},
        )

    def _shard(self, index: int) -> object:
        if index not in self._open:
            file = self.path / self.manifest.shards[index].file
            try:
                self._open[index] = safe_open(str(file), framework="numpy")
            except (SafetensorError, OSError) as error:
                raise InputError(
                    f"store shard is missing or damaged: {file} ({error})",
                    hint="rebuild the store with extract-priors",
                ) from error
        return self._open[index]

    def __getstate__(self) -> dict[str, object]:
        # DataLoader workers re-open shards themselves (mmap handles do not pickle).
        state = self.__dict__.copy()
        state["_open"] = {}
        return state

    def sources(self) -> list[str]:
        """Distinct source ids in stored order."""
        return list(dict.fromkeys(k.source for k in self.keys))

    def split(self, holdout: Iterable[str]) -> tuple[list[int], list[int]]:
        """(train indices, validation indices): validation = samples whose source is held out."""
        return split_by_source(self.keys, holdout)


def split_by_source(
    keys: Sequence[SampleKey], holdout: Iterable[str]
) -> tuple[list[int], list[int]]:
    """(train indices, validation indices) of `keys`: validation = those of a held-out source."""
    held = set(holdout)
    train = [i for i, k in enumerate(keys) if k.source not in held]
    val = [i for i, k in enumerate(keys) if k.source in held]
    return train, val


def holdout_sources(sources: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """A reproducible choice of about `fraction` of the sources (at least one if there are two)."""
    if len(sources) < 2 or fraction <= 0:
        return []
    rng = np.random.default_rng(seed)
    count = min(len(sources) - 1, max(1, round(fraction * len(sources))))
    picks = rng.choice(len(sources), size=count, replace=False)
    return sorted(sources[i] for i in picks)


def match_sources(sources: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Sources matching any pattern (exact ids or fnmatch globs such as 'frl_*/london_0?0_*')."""
    return sorted(s for s in sources if any(fnmatch.fnmatchcase(s, p) for p in patterns))
