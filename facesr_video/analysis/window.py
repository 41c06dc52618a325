"""Each analysed frame with its neighbours: frames t+d for fixed offsets d, as soon as they exist.

Used by `enhance` (the multi-frame network) and `extract-priors --neighbours`. A frame leaves once
its furthest future neighbour has arrived (or the stream ended), so the delay is the largest
offset and the memory is the window's frames.
"""

from __future__ import annotations

from typing import Generic

from facesr_video.analysis.sequence import AnalysedFrame, Payload

Window = tuple[AnalysedFrame[Payload] | None, ...]
"""The neighbours of a frame at the window's offsets; None where the stream has no such frame."""


class FrameWindow(Generic[Payload]):
    """Emits each analysed frame with its neighbours at `offsets` (frame indices t + d)."""

    def __init__(self, offsets: tuple[int, ...]) -> None:
        self.offsets = offsets
        self.ahead = max([0, *offsets])
        self.behind = max([0, *(-d for d in offsets)])
        self.recent: dict[int, AnalysedFrame[Payload]] = {}
        self.pending: list[AnalysedFrame[Payload]] = []

    def push(
        self, frames: list[AnalysedFrame[Payload]]
    ) -> list[tuple[AnalysedFrame[Payload], Window[Payload]]]:
        """Take analysed frames (in order); returns the frames now complete with neighbours."""
        ready = []
        for frame in frames:
            self.recent[frame.index] = frame
            self.pending.append(frame)
            while self.pending and self.pending[0].index + self.ahead <= frame.index:
                ready.append(self._emit(self.pending.pop(0)))
        return ready

    def finish(self) -> list[tuple[AnalysedFrame[Payload], Window[Payload]]]:
        """The frames still waiting, with the neighbours that exist."""
        ready = [self._emit(f) for f in self.pending]
        self.pending = []
        return ready

    def _emit(
        self, centre: AnalysedFrame[Payload]
    ) -> tuple[AnalysedFrame[Payload], Window[Payload]]:
        window = tuple(self.recent.get(centre.index + d) for d in self.offsets)
        for index in [i for i in self.recent if i < centre.index + 1 - self.behind]:
            del self.recent[index]
        return centre, window


def window_offsets(radius: int) -> tuple[int, ...]:
    """Frame offsets -K..-1, 1..K of a window of radius K."""
    return tuple(d for d in range(-radius, radius + 1) if d)
