"""Report pictures: labelled side-by-side strips, a face zoom, and per-frame plots.

Images are (H, W, 3) uint8 RGB (pictures are an output edge, like video/). Enlargements use
nearest neighbour so a reader sees each method's real pixels, not the display's resampling.
Plots use matplotlib's Agg canvas directly (no pyplot, no global backend switch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facesr_video.dataset.degrade.bicubic import upscale_nearest
from facesr_video.eval.results import Box, ClipResult, SampleFrame

LABEL_HEIGHT = 24
GAP = 4
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)


def _font(size: int = 15) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def labelled_row(panels: Sequence[tuple[str, np.ndarray]]) -> Image.Image:
    """Panels side by side, each with its label in a band above it.

    Args:
        panels: (label, image) with images (H, W_i, 3) uint8 of one height.

    Returns:
        An RGB image (H + LABEL_HEIGHT, sum W_i + gaps).
    """
    if not panels:
        raise ValueError("no panels to draw")
    height = panels[0][1].shape[0]
    if any(image.shape[0] != height for _, image in panels):
        raise ValueError("panels must share one height")
    width = sum(image.shape[1] for _, image in panels) + GAP * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height + LABEL_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _font()
    x = 0
    for label, image in panels:
        canvas.paste(Image.fromarray(np.ascontiguousarray(image)), (x, LABEL_HEIGHT))
        draw.text((x + 4, 4), label, fill=TEXT, font=font)
        x += image.shape[1] + GAP
    return canvas


def _fit_width(image: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink (H, W, 3) to at most max_width wide (area-averaging); never enlarges."""
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, round(height * max_width / width)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def _caption(method: str, clip: ClipResult | None, index: int) -> str:
    scores = clip.method(method) if clip is not None else None
    if scores is not None and index < len(scores.psnr_per_frame):
        value = scores.psnr_per_frame[index]
        if not math.isnan(value):
            return f"{method}  {value:.2f} dB"
    return method


def _panels(sample: SampleFrame, scale: int, clip: ClipResult | None) -> list:
    panels = [(f"LR x{scale} (nearest)", upscale_nearest(sample.lr, scale))]
    panels += [(_caption(m, clip, sample.index), image) for m, image in sample.outputs]
    panels.append(("original", sample.original))
    return panels


def comparison_strip(
    sample: SampleFrame, scale: int, clip: ClipResult | None = None, max_panel_width: int = 480
) -> Image.Image:
    """Whole frames side by side: LR (nearest) | each method | original, labelled.

    Args:
        sample: the frame; ``sample.lr`` is (h, w, 3), the others (h * S, w * S, 3).
        clip: when given, labels carry each method's PSNR on this frame.
        max_panel_width: panels wider than this are shrunk (all by the same factor).

    Returns:
        The strip as an RGB image.
    """
    panels = _panels(sample, scale, clip)
    return labelled_row([(label, _fit_width(image, max_panel_width)) for label, image in panels])


def zoom_region(box: Box, frame_size: tuple[int, int], margin: float = 0.3) -> Box:
    """A square region around a face box, grown by ``margin`` of its size, inside the frame.

    Args:
        box: (left, top, right, bottom) pixels.
        frame_size: (height, width) of the frame.

    Returns:
        Integer (left, top, right, bottom), right/bottom exclusive.
    """
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    height, width = frame_size
    side = min(side, height, width)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0 = int(round(min(max(cx - side / 2, 0), width - side)))
    y0 = int(round(min(max(cy - side / 2, 0), height - side)))
    return (x0, y0, x0 + int(side), y0 + int(side))


def face_zoom(
    sample: SampleFrame, scale: int, clip: ClipResult | None = None, size: int = 256
) -> Image.Image:
    """One face cropped from every panel and enlarged (nearest) to ``size`` pixels.

    Uses ``sample.face_box``, or the centre of the frame when there is none.

    Returns:
        The zoom row as an RGB image.
    """
    height, width = sample.original.shape[:2]
    box = sample.face_box
    if box is None:
        side = min(height, width) / 2
        box = (
            width / 2 - side / 2,
            height / 2 - side / 2,
            width / 2 + side / 2,
            height / 2 + side / 2,
        )
    x0, y0, x1, y1 = zoom_region(box, (height, width))
    panels = []
    for label, image in _panels(sample, scale, clip):
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        enlarged = Image.fromarray(crop).resize((size, size), Image.Resampling.NEAREST)
        panels.append((label, np.asarray(enlarged)))
    return labelled_row(panels)


def plot_series(clip: ClipResult, path: Path) -> Path:
    """Per-frame PSNR and flicker (x255, 8-bit levels) of every method over time, as a PNG.

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    psnr_axes, flicker_axes = figure.subplots(2, 1, sharex=True)
    for scores in clip.methods:
        if scores.psnr_per_frame:
            frames = np.arange(len(scores.psnr_per_frame))
            psnr_axes.plot(frames, scores.psnr_per_frame, label=scores.method, linewidth=1.2)
        if scores.flicker_per_frame:
            frames = np.arange(1, len(scores.flicker_per_frame) + 1)
            flicker = np.asarray(scores.flicker_per_frame, dtype=np.float64) * 255
            flicker_axes.plot(frames, flicker, label=scores.method, linewidth=1.2)
    psnr_axes.set_ylabel("face PSNR (dB)")
    psnr_axes.set_title(f"{clip.name}  x{clip.scale}")
    flicker_axes.set_ylabel("flicker (8-bit levels)")
    flicker_axes.set_xlabel("frame")
    for axes in (psnr_axes, flicker_axes):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="best", fontsize="small")
    figure.savefig(path)
    return path
