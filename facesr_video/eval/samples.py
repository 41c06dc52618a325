"""Which frames of a clip the report shows, kept while the clip streams past.

The first pass (the bicubic baseline) chooses: for each target index spread over the clip, the
first frame at or after it that has a reference face. Later passes only add their outputs for the
chosen indices. Frame 0 is held as a fallback until the first pass ends, for clips with no face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.eval.reference import ReferenceFrame
from facesr_video.eval.results import Box, SampleFrame


def sample_targets(frames: int | None, count: int) -> tuple[int, ...]:
    """Frame indices to aim at: middles of ``count`` equal parts (0, 30, 60... if unknown)."""
    if count <= 0:
        return ()
    if frames is None:
        return tuple(30 * i for i in range(count))
    frames = max(1, frames)
    return tuple(sorted({min(frames - 1, int((i + 0.5) * frames / count)) for i in range(count)}))


@dataclass
class _Kept:
    original: np.ndarray
    face_box: Box | None
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


class SampleKeeper:
    """Holds the few sample frames of one clip across its passes."""

    def __init__(self, targets: tuple[int, ...], scale: int) -> None:
        self.scale = scale
        self._targets = list(targets)
        self._kept: dict[int, _Kept] = {}
        self._chosen: set[int] = set()
        self._choosing = True

    def offer(
        self,
        method: str,
        index: int,
        original: np.ndarray,
        output: np.ndarray,
        reference: ReferenceFrame,
    ) -> None:
        """One output frame of a pass: kept if its index is (or, in pass one, becomes) a sample.

        Args:
            original: (H, W, 3) uint8; output: (H, W, 3) uint8 of the method.
        """
        if self._choosing and index not in self._kept:
            due = [t for t in self._targets if t <= index]
            chosen = bool(due and reference.faces)
            if chosen or index == 0:
                if chosen:
                    self._targets = [t for t in self._targets if t > index]
                    self._chosen.add(index)
                face = max(
                    reference.faces,
                    key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]),
                    default=None,
                )
                self._kept[index] = _Kept(original, face.box if face is not None else None)
        kept = self._kept.get(index)
        if kept is not None:
            kept.outputs[method] = output

    def end_first_pass(self) -> None:
        """Fix the choice; drop the frame-0 fallback when a frame with a face was chosen."""
        self._choosing = False
        if self._chosen and 0 not in self._chosen:
            self._kept.pop(0, None)

    def samples(self, methods: tuple[str, ...]) -> tuple[SampleFrame, ...]:
        """The kept frames as SampleFrames, outputs in the order of ``methods``."""
        return tuple(
            SampleFrame(
                index=index,
                lr=downscale(kept.original, self.scale),
                original=kept.original,
                outputs=tuple((m, kept.outputs[m]) for m in methods if m in kept.outputs),
                face_box=kept.face_box,
            )
            for index, kept in sorted(self._kept.items())
        )
