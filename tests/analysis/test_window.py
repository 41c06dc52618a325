"""FrameWindow: every frame leaves once, in order, with the right neighbours, holding few frames."""

from __future__ import annotations

from facesr_video.analysis.sequence import AnalysedFrame
from facesr_video.analysis.window import FrameWindow, window_offsets


def test_each_frame_leaves_once_in_order_with_its_neighbours() -> None:
    offsets = window_offsets(2)
    assert offsets == (-2, -1, 1, 2)
    window: FrameWindow[str] = FrameWindow(offsets)
    frames = [AnalysedFrame(i, f"frame {i}", ()) for i in range(9)]
    out, held = [], 0
    for start in range(0, 9, 2):  # the analyser hands frames over in bursts
        out += window.push(frames[start : start + 2])
        held = max(held, len(window.recent))
        # A frame waits only for its furthest future neighbour.
        assert all(f.index + 2 <= frames[min(start + 1, 8)].index for f, _ in out)
    out += window.finish()
    assert [f.index for f, _ in out] == list(range(9))
    for frame, neighbours in out:
        expected = [frame.index + d if 0 <= frame.index + d < 9 else None for d in offsets]
        assert [n.index if n is not None else None for n in neighbours] == expected
    assert held <= 2 * 2 + 2  # the window and the burst being taken in


def test_an_empty_window_passes_frames_straight_through() -> None:
    window: FrameWindow[str] = FrameWindow(())
    ready = window.push([AnalysedFrame(0, "a", ()), AnalysedFrame(1, "b", ())])
    assert [(f.index, n) for f, n in ready] == [(0, ()), (1, ())]
    assert window.finish() == []
