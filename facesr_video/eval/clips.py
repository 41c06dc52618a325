"""What evaluate reads: high-resolution clips (videos) and still images (one-frame clips).

Inputs are listed like `extract-priors` does (`dataset.inputs.list_inputs`: files, and folders
searched for images and videos); every video is probed before anything runs, so a file FFmpeg
cannot read is refused at once. Frames come out cropped to a multiple of the scale, one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from facesr_video.dataset.degrade.bicubic import crop_to_multiple
from facesr_video.dataset.inputs import list_inputs, read_image
from facesr_video.errors import InputError
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.probe import probe


@dataclass(frozen=True)
class EvalClip:
    """One clip to evaluate; ``expected_frames`` is for progress (None when unknown)."""

    name: str
    path: Path
    kind: str  # "video" | "image"
    expected_frames: int | None


def list_clips(paths: Sequence[Path], max_frames: int | None = None) -> tuple[EvalClip, ...]:
    """The clips named by the command's inputs; InputError for missing or unreadable inputs."""
    listing = list_inputs([Path(p) for p in paths])
    if not listing.items:
        reasons = "; ".join(f"{path}: {why}" for path, why in listing.empty)
        raise InputError(f"no videos or images to evaluate ({reasons})", "check the inputs")
    clips = []
    for item in listing.items:
        if item.kind == "image":
            clips.append(EvalClip(item.source, item.path, "image", 1))
            continue
        expected = probe(item.path).expected_frames
        if expected is not None and max_frames is not None:
            expected = min(expected, max_frames)
        clips.append(EvalClip(item.source, item.path, "video", expected))
    return tuple(clips)


def _cropped(frame: Frame, scale: int, path: Path) -> Frame:
    height, width = frame.rgb.shape[:2]
    if height < 4 * scale or width < 4 * scale:
        raise InputError(
            f"{path} is {width}x{height}, too small to shrink by {scale}",
            "evaluate needs frames at least a few low-resolution pixels large",
        )
    return frame.with_rgb(crop_to_multiple(frame.rgb, scale))


def original_frames(clip: EvalClip, scale: int, max_frames: int | None = None) -> Iterator[Frame]:
    """The clip's frames, each (H - H mod S, W - W mod S, 3) uint8, at most ``max_frames``."""
    if clip.kind == "image":
        rgb = read_image(clip.path)
        yield _cropped(Frame(0, 0, Fraction(1, 1), 1, rgb), scale, clip.path)
        return
    for frame in VideoDecoder(clip.path):
        if max_frames is not None and frame.index >= max_frames:
            return
        yield _cropped(frame, scale, clip.path)
