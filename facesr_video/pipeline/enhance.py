"""`enhance`: decode -> frame stage -> encode, streaming, with progress and a summary.

The frame stage is an `Iterator[Frame] -> Iterator[Frame]` so that a stage with lag (the face
path, which waits for its smoother and network batch) drops in without touching the encoder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from facesr_video.errors import InputError
from facesr_video.pipeline.background import METHODS, SCALES, upscale_frames
from facesr_video.progress import make_progress, stderr_console
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter, check_codec
from facesr_video.video.output import check_output
from facesr_video.video.probe import probe

FrameStage = Callable[[Iterator[Frame]], Iterator[Frame]]


@dataclass(frozen=True)
class EnhanceOptions:
    input: Path
    output: Path
    scale: int
    background: str = "bicubic"
    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    overwrite: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class EnhanceSummary:
    frames: int
    frames_lost: int  # announced by the container but not decodable (0 when unknown)
    duration: float  # seconds of video, first pts to end of last frame
    seconds: float  # wall-clock time
    audio_copied: int
    audio_transcoded: int
    output: Path

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def one_line(self) -> str:
        line = (
            f"wrote {self.output}: {self.frames} frames, {self.duration:.2f} s of video in "
            f"{self.seconds:.1f} s ({self.fps:.1f} frames/s); audio streams: "
            f"{self.audio_copied} copied, {self.audio_transcoded} transcoded"
        )
        if self.frames_lost:
            line += f"; WARNING {self.frames_lost} frames lost (truncated or corrupt input)"
        return line


def check_options(options: EnhanceOptions) -> None:
    """Everything that can be refused before reading a frame."""
    if options.scale not in SCALES:
        raise InputError(
            f"unsupported scale {options.scale}", f"use --scale {' or '.join(map(str, SCALES))}"
        )
    if options.background not in METHODS:
        raise InputError(
            f"unknown --background {options.background!r}", f"use one of {', '.join(METHODS)}"
        )
    muxer = check_output(Path(options.input), Path(options.output), options.overwrite)
    check_codec(options.codec, muxer)


def enhance(options: EnhanceOptions, stage: FrameStage | None = None) -> EnhanceSummary:
    """Enhance IN into OUT; `stage` defaults to the plain upscaler."""
    check_options(options)
    info = probe(options.input)
    if stage is None:

        def stage(frames: Iterator[Frame]) -> Iterator[Frame]:
            return upscale_frames(frames, options.scale, options.background)

    decoder = VideoDecoder(options.input)
    settings = EncodeSettings(options.codec, options.crf, options.preset)
    target = VideoTarget.from_info(info, options.scale)
    started = time.perf_counter()
    first = last = None
    with make_progress("frames", options.quiet) as progress:
        task = progress.add_task("enhance", total=info.expected_frames)
        with VideoWriter(options.output, target, settings, audio_from=options.input) as writer:
            for frame in stage(iter(decoder)):
                writer.write(frame)
                first = first or frame
                last = frame
                progress.advance(task)
            progress.update(task, total=writer.frames_written)
    seconds = time.perf_counter() - started
    duration = 0.0
    if first is not None and last is not None:
        duration = float((last.pts + last.duration - first.pts) * last.time_base)
    plans = writer.audio_plans
    summary = EnhanceSummary(
        frames=writer.frames_written,
        frames_lost=decoder.stats.lost,
        duration=duration,
        seconds=seconds,
        audio_copied=sum(p.action == "copy" for p in plans),
        audio_transcoded=sum(p.action == "transcode" for p in plans),
        output=Path(options.output),
    )
    if not options.quiet:
        for plan in plans:
            if plan.action == "transcode":
                stderr_console.print(plan.describe(), markup=False, highlight=False, soft_wrap=True)
        stderr_console.print(summary.one_line(), markup=False, highlight=False, soft_wrap=True)
    return summary
