"""VideoDecoder: every frame in order with its pts; truncated input decodes what it can."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from facesr_video.video.decode import VideoDecoder
from tests.conftest import DATA, require
from tests.video.clips import write_clip


def test_decode_vfr_keeps_pts(tmp_path: Path) -> None:
    pts = [0, 3000, 9000, 10000, 30000, 31500]
    frames = list(VideoDecoder(write_clip(tmp_path / "v.mp4", pts)))
    assert [f.pts for f in frames] == pts
    assert [f.index for f in frames] == list(range(len(pts)))
    assert all(f.time_base == Fraction(1, 90000) for f in frames)
    assert frames[0].rgb.shape == (48, 64, 3) and frames[0].rgb.dtype == np.uint8


def test_decode_grid_all_frames_monotonic() -> None:
    decoder = VideoDecoder(require(DATA / "videos/grid/sbwe5n.mpg"))
    pts = [f.pts for f in decoder]
    assert len(pts) == 75
    assert all(b - a == 3600 for a, b in zip(pts, pts[1:], strict=False))  # 25 fps in 1/90000
    assert decoder.stats.lost == 0


def test_truncated_indexed_file_counts_lost_frames(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "full.mp4", [i * 3000 for i in range(60)], size=(160, 120))
    # faststart puts the index first, so a cut file still opens and announces 60 frames.
    import av

    fast = tmp_path / "fast.mp4"
    with (
        av.open(str(clip)) as src,
        av.open(str(fast), "w", options={"movflags": "faststart"}) as dst,
    ):
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    cut = tmp_path / "cut.mp4"
    data = fast.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    decoder = VideoDecoder(cut)
    frames = list(decoder)
    assert 0 < len(frames) < 60
    assert decoder.stats.expected == 60
    assert decoder.stats.lost == 60 - len(frames)
