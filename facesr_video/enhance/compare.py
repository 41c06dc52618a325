"""`--compare`: a side-by-side video, plain upscale | enhanced, each half labelled.

Made after OUT is written, from IN and OUT themselves: what the viewer sees on the right is
exactly the file that was delivered, and the plain half is the same upscaler the background uses.
The output's frames, timestamps and audio are kept (frame i of IN beside frame i of OUT), so the
comparison can be stepped through frame by frame in any player.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facesr_video.enhance.background import upscale_frame
from facesr_video.files import follow_umask
from facesr_video.progress import Progress, make_progress
from facesr_video.video.decode import VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter
from facesr_video.video.probe import probe

if TYPE_CHECKING:
    from facesr_video.enhance.run import EnhanceOptions

LABELS = ("plain upscale", "enhanced")


def side_by_side(
    left: np.ndarray, right: np.ndarray, labels: tuple[str, str] = LABELS
) -> np.ndarray:
    """Two (H, W, 3) uint8 images -> (H, 2W, 3) uint8, each with its label in the top-left."""
    joined = Image.fromarray(np.concatenate([left, right], axis=1))
    draw = ImageDraw.Draw(joined)
    height, width = left.shape[:2]
    size = max(8, height // 24)
    font = ImageFont.load_default(size=size)
    while size > 8 and max(draw.textlength(label, font=font) for label in labels) > width - size:
        size -= 1  # a narrow video: a smaller label rather than one over the other half
        font = ImageFont.load_default(size=size)
    for index, label in enumerate(labels):
        x, y = index * width + size // 2, size // 2
        box = draw.textbbox((x, y), label, font=font)
        pad = max(2, size // 4)
        draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(0, 0, 0))
        draw.text((x, y), label, fill=(255, 255, 255), font=font)
    return np.asarray(joined)


def write_compare(options: EnhanceOptions, shared: Progress | None = None) -> Path:
    """Write options.compare from IN and the finished OUT (written whole, like OUT)."""
    assert options.compare is not None
    path = Path(options.compare)
    info = probe(options.output)
    target = VideoTarget.from_info(info, 1)
    target = replace(target, width=2 * target.width)
    settings = EncodeSettings(options.codec, options.crf, options.preset)
    pairs = zip(VideoDecoder(options.input), VideoDecoder(options.output), strict=True)
    with ExitStack() as stack:
        progress = shared
        if progress is None:
            progress = stack.enter_context(make_progress("frames", options.quiet))
        task = progress.add_task("compare", total=info.expected_frames)
        if shared is not None:
            stack.callback(progress.remove_task, task)
        writer = stack.enter_context(VideoWriter(path, target, settings, audio_from=options.input))
        for plain, enhanced in pairs:
            big = upscale_frame(plain.rgb, options.scale, options.background)
            writer.write(enhanced.with_rgb(side_by_side(big, enhanced.rgb)))
            progress.advance(task)
    follow_umask(path)
    return path
