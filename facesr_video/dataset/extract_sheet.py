"""The store's contact sheet: a look at what was stored, read back from the store itself.

One row per sample (evenly spread over the samples in key order: source, track, frame, so the
sheet does not depend on which process stored what first), columns: HR crop | LR crop (nearest,
at HR size) | shaded render | normals | facial parts (colour-coded) | render over the HR crop,
all at `cell` px. If the render does not line up with the crop in the last column, the fit or the
crop maths is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facesr_video.dataset.store import StoreReader, StoreSample

COLUMNS = ("HR crop", "LR (nearest)", "render", "normals", "parts", "render on HR")
PART_COLOURS = {
    "part_skin": (205, 170, 140),
    "part_brows": (110, 60, 20),
    "part_eyes": (40, 120, 255),
    "part_nose": (255, 200, 0),
    "part_lips": (220, 40, 90),
}


def sample_panels(sample: StoreSample, channels: tuple[str, ...]) -> list[np.ndarray]:
    """The six pictures of one sample, each (S*n, S*n, 3) uint8 (see COLUMNS)."""
    priors = np.asarray(sample.priors, dtype=np.float32)  # (C, S*n, S*n)
    hr = np.asarray(sample.hr)
    size = hr.shape[0]

    def channel(name: str) -> np.ndarray:
        return priors[channels.index(name)]

    mask = channel("mask")[..., None]
    render = np.stack([channel(f"render_{c}") for c in "rgb"], axis=-1)
    normals = np.stack([channel(f"normal_{c}") for c in "xyz"], axis=-1)
    normals = (normals * 0.5 + 0.5) * mask
    parts = np.zeros((size, size, 3), np.float32)
    for name, colour in PART_COLOURS.items():
        parts += channel(name)[..., None] * (np.array(colour, np.float32) / 255.0)
    blend = hr.astype(np.float32) / 255.0 * (1 - 0.5 * mask) + 0.5 * mask * render
    lr = np.asarray(Image.fromarray(np.asarray(sample.lr)).resize((size, size), Image.NEAREST))

    def u8(x: np.ndarray) -> np.ndarray:
        return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)

    return [hr, lr, u8(render), u8(normals), u8(parts), u8(blend)]


def write_contact_sheet(
    reader: StoreReader, path: Path, rows: int = 12, cell: int = 128
) -> np.ndarray:
    """Save the sheet of up to `rows` samples as PNG; returns it (H, W, 3) uint8."""
    count = min(rows, len(reader))
    keys = reader.keys
    ordered = sorted(
        range(len(reader)), key=lambda i: (keys[i].source, keys[i].track, keys[i].frame)
    )
    spread = np.linspace(0, len(reader) - 1, count).round().astype(int) if count else []
    picks = [ordered[i] for i in spread]
    pad, header, label = 2, 14, 14
    sheet = Image.new(
        "RGB",
        (len(COLUMNS) * (cell + pad), header + max(1, count) * (cell + label + pad)),
        (24, 24, 24),
    )
    draw = ImageDraw.Draw(sheet)
    for col, title in enumerate(COLUMNS):
        draw.text((col * (cell + pad) + 2, 1), title, fill=(230, 230, 230))
    channels = tuple(reader.layout.channels)
    for row, index in enumerate(picks):
        sample = reader[int(index)]
        top = header + row * (cell + label + pad)
        text = f"{sample.source} track {sample.track} frame {sample.frame} n={sample.lr.shape[0]}"
        draw.text((2, top), text, fill=(200, 200, 120))
        for col, panel in enumerate(sample_panels(sample, channels)):
            thumb = Image.fromarray(panel).resize((cell, cell), Image.BICUBIC)
            sheet.paste(thumb, (col * (cell + pad), top + label))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return np.asarray(sheet)
