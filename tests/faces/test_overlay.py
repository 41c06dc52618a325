"""Overlay drawing and the per-track contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facesr_video.analysis.face_tracks import FaceAnalyzer
from facesr_video.faces.align import crop_image
from facesr_video.faces.overlay import contact_sheet, draw_overlay, track_colour
from tests.faces._frames import wh_frames


def test_overlay_draws_on_the_face_only(tmp_path: Path) -> None:
    frames = wh_frames(2, factor=8)
    analyzer = FaceAnalyzer()
    obs = [analyzer.analyze(i, rgb) for i, rgb in enumerate(frames)][-1]
    out = draw_overlay(frames[-1], obs, scale=3)
    assert out.shape == (frames[-1].shape[0] * 3, frames[-1].shape[1] * 3, 3)
    assert out.dtype == np.uint8
    changed = np.any(out != np.asarray(Image.fromarray(frames[-1]).resize((480, 270), 0)), axis=2)
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = (3 * v for v in obs[0].box)
    assert x0 - 6 <= xs.min() and xs.max() <= x1 + 6 and y0 - 14 <= ys.min() and ys.max() <= y1 + 6
    colour = np.array(track_colour(obs[0].track_id))
    assert np.any(np.all(out == colour, axis=2))
    np.testing.assert_array_equal(draw_overlay(frames[-1], []), frames[-1])

    crops = {o.track_id: [crop_image(frames[-1], o.alignment)] for o in obs}
    crops[7] = [np.zeros((32, 32, 3), np.uint8)] * 30
    sheet = contact_sheet(crops, tmp_path / "sheet.png", cell=48, per_row=5)
    assert sheet.shape == (2 * 50, 40 + 5 * 50, 3)
    assert Image.open(tmp_path / "sheet.png").size == (sheet.shape[1], sheet.shape[0])
