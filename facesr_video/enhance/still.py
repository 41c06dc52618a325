"""Still images through the enhance path: one frame, the same stages, written as an image.

A photo goes through exactly what a video frame goes through (face path or plain upscale), so a
still and a video frame of the same face come out alike; only the edges differ: Pillow reads and
writes the file (no audio, no video encoder), its EXIF orientation is applied so faces are found
upright, and an alpha channel is upscaled plainly and kept where the format holds one.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from facesr_video.enhance.background import METHODS, SCALES, upscale_frames
from facesr_video.errors import InputError, OutputError
from facesr_video.files import check_output_files, write_whole
from facesr_video.progress import stderr_console
from facesr_video.video.decode import Frame

if TYPE_CHECKING:
    from facesr_video.enhance.run import EnhanceOptions, EnhanceSummary

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
if features.check("webp"):
    FORMATS[".webp"] = "WEBP"
_ALPHA_FORMATS = {"PNG", "WEBP"}


def is_still(path: Path) -> bool:
    """Whether a path names a still image this tool reads (by its extension)."""
    return Path(path).suffix.lower() in FORMATS


def check_scale(scale: int, background: str) -> None:
    """--scale and --background, refused before any input is read."""
    if scale not in SCALES:
        raise InputError(
            f"unsupported scale {scale}", f"use --scale {' or '.join(map(str, SCALES))}"
        )
    if background not in METHODS:
        raise InputError(f"unknown --background {background!r}", f"use one of {', '.join(METHODS)}")


def check_still_options(options: EnhanceOptions) -> None:
    """What can be refused before reading the image: scale, upscaler, OUT's format, files."""
    from facesr_video.enhance.run import input_files, output_files

    check_scale(options.scale, options.background)
    if Path(options.output).suffix.lower() not in FORMATS:
        raise OutputError(
            f"input is a still image, so OUT is one too: {options.output}",
            f"give OUT one of {', '.join(FORMATS)}",
        )
    if options.compare is not None:
        raise OutputError("--compare makes a video: use it with a video input")
    if options.faces is not None and options.faces.debug_overlay is not None:
        raise OutputError("--debug-overlay makes a video: use it with a video input")
    check_output_files(output_files(options), input_files(options), options.overwrite)


def read_still(path: Path) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """(rgb (H, W, 3) uint8 upright, alpha (H, W) uint8 or None, what to keep: ICC profile)."""
    if not Path(path).is_file():
        raise InputError(f"input not found: {path}", "check the path")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode == "P" and "transparency" in image.info:
                image = image.convert("RGBA")
            alpha = np.asarray(image.getchannel("A")) if "A" in image.getbands() else None
            keep = {"icc_profile": image.info["icc_profile"]} if "icc_profile" in image.info else {}
            return np.array(image.convert("RGB")), alpha, keep
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"input is not a readable image: {path}") from error


def enhance_still(options: EnhanceOptions) -> EnhanceSummary:
    """Enhance one still image IN into OUT (same stages as a video frame)."""
    from facesr_video.enhance.run import EnhanceSummary, build_face_stage, write_report

    check_still_options(options)
    rgb, alpha, keep = read_still(Path(options.input))
    started = time.perf_counter()
    face_stage = build_face_stage(options)
    frames = iter([Frame(0, 0, Fraction(1, 1), 1, rgb)])
    if face_stage is not None:
        (result,) = list(face_stage(frames))
    else:
        (result,) = list(upscale_frames(frames, options.scale, options.background))
    save_still(Path(options.output), result.rgb, alpha, keep)
    summary = EnhanceSummary(
        frames=1,
        frames_lost=0,
        duration=0.0,
        seconds=time.perf_counter() - started,
        audio_copied=0,
        audio_transcoded=0,
        output=Path(options.output),
        faces_enhanced=face_stage.faces_enhanced if face_stage is not None else 0,
        tracks=len(face_stage.tracks) if face_stage is not None else 0,
        stage_seconds=dict(face_stage.times.seconds) if face_stage is not None else {},
    )
    if options.report is not None:
        write_report(options.report, summary, face_stage)
    if not options.quiet:
        height, width = result.rgb.shape[:2]
        line = (
            f"wrote {summary.output}: one image, {width}x{height}, in {summary.seconds:.1f} s; "
            f"{summary.faces_enhanced} faces enhanced"
        )
        stderr_console.print(line, markup=False, highlight=False, soft_wrap=True)
    return summary


def save_still(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, keep: dict[str, Any]) -> None:
    """Write (H, W, 3) uint8 in the format of `path`'s extension, whole (temp file + rename)."""
    fmt = FORMATS[path.suffix.lower()]
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if alpha is not None and fmt in _ALPHA_FORMATS:
        size = image.size
        image.putalpha(Image.fromarray(alpha).resize(size, Image.Resampling.BICUBIC))
    settings: dict[str, Any] = dict(keep)
    if fmt == "JPEG":
        settings.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        settings.update(quality=95)
    write_whole(path, lambda partial: image.save(partial, format=fmt, **settings))
