"""Pictures to check the face analysis by eye: boxes, ids and landmarks drawn on frames, and a
contact sheet of each track's aligned crops over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facesr_video.faces.observation import FaceObservation

PALETTE = (
    (255, 64, 64),
    (64, 200, 255),
    (255, 210, 0),
    (120, 255, 120),
    (255, 120, 255),
    (255, 150, 60),
    (160, 120, 255),
    (0, 255, 200),
)


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A colour per track id, stable over the video."""
    return PALETTE[track_id % len(PALETTE)]


def draw_overlay(
    rgb: np.ndarray, observations: Sequence[FaceObservation], scale: int = 1
) -> np.ndarray:
    """Frame with each face's box, track id and 68 landmarks drawn.

    Args:
        rgb: (H, W, 3) uint8 frame.
        observations: the faces found in it.
        scale: enlarge the frame (nearest) first so small faces stay readable.

    Returns:
        (H * scale, W * scale, 3) uint8. Predicted (undetected) faces get a thin box.
    """
    image = Image.fromarray(rgb)
    if scale != 1:
        image = image.resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (scale * x + (scale - 1) / 2, scale * y + (scale - 1) / 2)

    for obs in observations:
        colour = track_colour(obs.track_id)
        x0, y0 = to_px(obs.box[0] + 0.5, obs.box[1] + 0.5)
        x1, y1 = to_px(obs.box[2] - 0.5, obs.box[3] - 0.5)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2 if obs.detected else 1)
        label = f"{obs.track_id}" if obs.detected else f"{obs.track_id}?"
        draw.text((x0 + 1, max(0.0, y0 - 11)), label, fill=colour)
        radius = max(0.5, scale * 0.3)
        for x, y in obs.landmarks68:
            px, py = to_px(float(x), float(y))
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=colour)
    return np.asarray(image)


def contact_sheet(
    crops: Mapping[int, Sequence[np.ndarray]],
    path: Path | str | None = None,
    cell: int = 64,
    per_row: int = 12,
) -> np.ndarray:
    """A grid with one row per track id: that track's aligned crops in time order.

    Args:
        crops: track id -> crops, each (s, s, 3) uint8 (any s; shown at `cell` px).
        path: where to save it as PNG (optional).
        cell: side of one thumbnail.
        per_row: thumbnails per track (evenly spaced over the track when it has more).

    Returns:
        (rows * (cell + 2), per_row * (cell + 2) + 40, 3) uint8 sheet.
    """
    ids = sorted(crops)
    pad, label_w = 2, 40
    sheet = Image.new(
        "RGB", (label_w + per_row * (cell + pad), max(1, len(ids)) * (cell + pad)), (24, 24, 24)
    )
    draw = ImageDraw.Draw(sheet)
    for row, track_id in enumerate(ids):
        items = list(crops[track_id])
        if len(items) > per_row:
            picks = np.linspace(0, len(items) - 1, per_row).round().astype(int)
            items = [items[i] for i in picks]
        top = row * (cell + pad)
        draw.text((4, top + cell // 2 - 6), f"#{track_id}", fill=track_colour(track_id))
        for col, crop in enumerate(items):
            thumb = Image.fromarray(crop).resize((cell, cell), Image.BICUBIC)
            sheet.paste(thumb, (label_w + col * (cell + pad), top))
    out = np.asarray(sheet)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sheet.save(path)
    return out
