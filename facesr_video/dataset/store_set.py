"""Several stores read as one training set: `train STORE_A STORE_B ...`.

Two stores extracted from the same inputs with different `extract-priors --seed` hold two draws
of each source's degradation (another CRF, kernel, noise): trained together, the network sees
twice the coded inputs of the same faces. A source id present in several stores is the same
person, so holding it out for validation holds out every copy. Stores of different footage
combine the same way. The stores must agree on what a sample is: scale, prior layout,
coefficient length and neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from facesr_video.dataset.store import (
    LayoutInfo,
    SampleKey,
    StoreReader,
    StoreSample,
    split_by_source,
)
from facesr_video.errors import InputError


class StoreSet:
    """The samples of `readers`, one after the other, with StoreReader's read interface."""

    def __init__(self, readers: Sequence[StoreReader]) -> None:
        if not readers:
            raise ValueError("a store set needs at least one store")
        self.readers = list(readers)
        first = self.readers[0]
        for other in self.readers[1:]:
            _check_alike(first, other)
        self._starts = np.cumsum([0] + [len(r) for r in self.readers]).tolist()
        self.keys: tuple[SampleKey, ...] = tuple(k for r in self.readers for k in r.keys)
        self.lr_sizes: tuple[int, ...] = tuple(n for r in self.readers for n in r.lr_sizes)

    @classmethod
    def open(cls, paths: Sequence[Path], scale: int | None = None) -> StoreSet:
        return cls([StoreReader(p, scale=scale) for p in paths])

    @property
    def scale(self) -> int:
        return self.readers[0].scale

    @property
    def stored_scale(self) -> int:
        """The factor the stores were made for (`scale` may be a divisor of it)."""
        return self.readers[0].manifest.scale

    @property
    def layout(self) -> LayoutInfo:
        return self.readers[0].layout

    @property
    def neighbours(self) -> tuple[int, ...]:
        return self.readers[0].neighbours

    def __len__(self) -> int:
        return self._starts[-1]

    def _locate(self, index: int) -> tuple[StoreReader, int]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        store = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self.readers[store], index - self._starts[store]

    def __getitem__(self, index: int) -> StoreSample:
        reader, i = self._locate(index)
        return reader[i]

    def coefficients(self, index: int) -> np.ndarray:
        reader, i = self._locate(index)
        return reader.coefficients(i)

    def sources(self) -> list[str]:
        """Distinct source ids in stored order (a source in several stores once)."""
        return list(dict.fromkeys(k.source for k in self.keys))

    def split(self, holdout: Iterable[str]) -> tuple[list[int], list[int]]:
        """(train indices, validation indices): every copy of a held-out source validates."""
        return split_by_source(self.keys, holdout)


def _check_alike(first: StoreReader, other: StoreReader) -> None:
    """One error line naming the first difference that makes the two stores' samples unlike."""
    checks = [
        ("scale", f"x{first.manifest.scale}", f"x{other.manifest.scale}"),
        ("prior layout", first.layout.version, other.layout.version),
        ("prior channels", first.layout.channels, other.layout.channels),
        ("coefficients", first.layout.coeff_dim, other.layout.coeff_dim),
        ("neighbours", first.neighbours, other.neighbours),
    ]
    for what, mine, theirs in checks:
        if mine != theirs:
            raise InputError(
                f"stores {first.path} and {other.path} differ in {what} ({mine} against {theirs})",
                hint="train together only stores made by the same extract-priors settings",
            )
