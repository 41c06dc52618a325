"""`enhance`: decode -> frame stage -> encode, streaming, with progress and a summary.

The frame stage is an `Iterator[Frame] -> Iterator[Frame]` so that a stage with lag (the face
path, which waits for its smoother and network batch) drops in without touching the encoder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from facesr_video.device import resolve_device
from facesr_video.enhance.background import METHODS, SCALES, upscale_frames
from facesr_video.enhance.compare import write_compare
from facesr_video.enhance.face_stage import FaceOptions, FaceStage
from facesr_video.enhance.prepare import (
    FACE_SCALES,
    check_model_matches_weights,
    resolve_face_model,
    resolve_network,
    set_torch_threads,
    shipped_weights,
)
from facesr_video.enhance.span import WARMUP, TimeSpan, cut, span_frames, stage_needs
from facesr_video.errors import InputError, OutputError
from facesr_video.files import NamedPath, check_output_files, follow_umask, write_text_whole
from facesr_video.ordered_pool import OrderedPool
from facesr_video.progress import Progress, make_progress, stderr_console
from facesr_video.sr.runtimes import RUNTIMES
from facesr_video.timing import StageTimes
from facesr_video.video.audio import AudioRepairs
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter, check_codec
from facesr_video.video.output import muxer_for
from facesr_video.video.probe import probe
from facesr_video.video.quality import QUALITY_CHOICES, InputQuality, decide_input_quality

FrameStage = Callable[[Iterator[Frame]], Iterator[Frame]]

# --crf range and --preset names per encoder (FFmpeg's libx264/libx265/libsvtav1/nvenc options).
CRF_RANGES = {"libx264": (0, 51), "libx265": (0, 51), "libsvtav1": (0, 63), "h264_nvenc": (0, 51)}
_X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
_X26X_PRESETS += ("slower", "veryslow", "placebo")
_NVENC_PRESETS = tuple(f"p{n}" for n in range(1, 8)) + ("default", "slow", "medium", "fast")
_NVENC_PRESETS += ("hp", "hq", "bd", "ll", "llhq", "llhp", "lossless", "losslesshp")
PRESETS = {
    "libx264": _X26X_PRESETS,
    "libx265": _X26X_PRESETS,
    "libsvtav1": tuple(str(n) for n in range(-1, 14)),
    "h264_nvenc": _NVENC_PRESETS,
}


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
    faces: FaceOptions | None = field(default_factory=FaceOptions)  # None: plain path only
    report: Path | None = None  # per-track and per-stage figures as JSON
    span: TimeSpan | None = None  # --start/--end; None: the whole video
    warmup: int = WARMUP  # frames processed and dropped before a span (face path)
    compare: Path | None = None  # side-by-side video: plain upscale | enhanced (compare.py)


@dataclass(frozen=True)
class EnhanceSummary:
    frames: int
    frames_lost: int  # announced by the container but not decodable (0 when unknown)
    duration: float  # seconds of video, first pts to end of last frame
    seconds: float  # wall-clock time
    audio_copied: int
    audio_transcoded: int
    output: Path
    faces_enhanced: int = 0  # face crops super-resolved (summed over frames)
    tracks: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    damaged_video_packets: int = 0  # skipped by the decoder (frames_lost counts them if it can)
    video_missing: float = 0.0  # seconds the container announces after the last decoded frame
    audio_repairs: AudioRepairs = field(default_factory=AudioRepairs)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def one_line(self) -> str:
        line = (
            f"wrote {self.output}: {self.frames} frames, {self.duration:.2f} s of video in "
            f"{self.seconds:.1f} s ({self.fps:.1f} frames/s); audio streams: "
            f"{self.audio_copied} copied, {self.audio_transcoded} transcoded; "
            f"{self.faces_enhanced} faces enhanced in {self.tracks} tracks"
        )
        if self.frames_lost:
            line += f"; WARNING {self.frames_lost} frames lost (truncated or corrupt input)"
        elif damage := self._video_damage():
            line += f"; WARNING {damage} (truncated or corrupt input)"
        if repaired := self.audio_repairs.describe():
            line += f"; WARNING damaged audio: {repaired}"
        return line

    def _video_damage(self) -> str:
        """Damage seen where the container gives no frame count ('' when none)."""
        parts = []
        if self.damaged_video_packets:
            parts.append(f"{self.damaged_video_packets} damaged video packets skipped")
        if self.video_missing:
            parts.append(f"the video ends {self.video_missing:.2f} s before its container says")
        return ", ".join(parts)


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
    check_codec(options.codec, muxer_for(Path(options.output)))
    for extra in (debug_overlay_path(options), options.compare):
        if extra is not None:
            check_codec(options.codec, muxer_for(Path(extra)))
    check_encoder_options(options.codec, options.crf, options.preset)
    check_face_choices(options.faces)
    check_output_files(output_files(options), input_files(options), options.overwrite)


def check_face_choices(face: FaceOptions | None) -> None:
    """--runtime and --input-quality, refused before the network is loaded."""
    if face is None:
        return
    for flag, value, choices in (
        ("--runtime", face.runtime, RUNTIMES),
        ("--input-quality", face.input_quality, QUALITY_CHOICES),
    ):
        if value not in choices:
            raise InputError(f"unknown {flag} {value!r}", f"use one of {', '.join(choices)}")


def check_encoder_options(codec: str, crf: int | None, preset: str | None) -> None:
    """--crf and --preset for this --codec, refused here rather than by the encoder later."""
    low, high = CRF_RANGES[codec]
    if crf is not None and not low <= crf <= high:
        raise OutputError(
            f"--crf {crf} is outside {codec}'s range {low}-{high}", "lower is better quality"
        )
    if preset is not None and preset not in PRESETS[codec]:
        choices = ", ".join(PRESETS[codec])
        raise OutputError(f"--preset {preset!r} is not a {codec} preset", f"use one of {choices}")


def debug_overlay_path(options: EnhanceOptions) -> Path | None:
    """--debug-overlay when it will be written (it needs the face path)."""
    face = options.faces
    if face is None or face.debug_overlay is None or options.scale not in FACE_SCALES:
        return None
    return Path(face.debug_overlay)


def output_files(options: EnhanceOptions) -> list[NamedPath]:
    """Every file this run will write, named as in its messages."""
    files = [NamedPath("output", Path(options.output))]
    overlay = debug_overlay_path(options)
    if overlay is not None:
        files.append(NamedPath("--debug-overlay", overlay))
    if options.report is not None:
        files.append(NamedPath("--report", Path(options.report)))
    if options.compare is not None:
        files.append(NamedPath("--compare", Path(options.compare)))
    return files


def input_files(options: EnhanceOptions) -> list[NamedPath]:
    """Every file this run reads, which no output may replace."""
    files = [NamedPath("input", Path(options.input))]
    face = options.faces
    if face is not None and face.weights is not None:
        files.append(NamedPath("--weights", Path(face.weights)))
    if face is not None and face.face_model is not None:
        files.append(NamedPath("--face-model", Path(face.face_model)))
    return files


def build_face_stage(options: EnhanceOptions) -> FaceStage | None:
    """The face path for these options, or None for the plain path (with the reason said)."""
    face = options.faces
    if face is None:
        return None
    if options.scale not in FACE_SCALES:
        if not options.quiet:
            stderr_console.print(
                f"note: the face network works at x2, x4 and x8; at x{options.scale} every "
                "frame is upscaled plainly",
                markup=False,
                highlight=False,
            )
        return None
    check_face_choices(face)  # also for callers that skip check_options (stills, segments)
    device = resolve_device(face.device)
    set_torch_threads(face.threads, device)
    quality = input_quality(options, face)
    network, info = resolve_network(face.weights, options.scale, device, quality)
    model = resolve_face_model(face.face_model)
    check_model_matches_weights(model, info)
    face = replace(face, input_quality=quality)
    return FaceStage(model, network, info, options.scale, face, device, options.background)


def input_quality(options: EnhanceOptions, face: FaceOptions) -> InputQuality:
    """--input-quality decided for this input: it picks the shipped weights (given --weights
    are used whatever the input) and whether faces take their colours from the low-resolution
    crop; said once when it picks the network for compressed input."""
    decision = decide_input_quality(face.input_quality, options.input)
    if face.weights is not None:
        return decision.quality
    chosen = shipped_weights(options.scale, decision.quality)
    if not options.quiet and chosen != shipped_weights(options.scale, "clean"):
        stderr_console.print(
            f"note: {decision.describe()}: network for {decision.quality} input ({chosen.name})",
            markup=False,
            highlight=False,
        )
    return decision.quality


def enhance(
    options: EnhanceOptions, stage: FrameStage | None = None, shared: Progress | None = None
) -> EnhanceSummary:
    """Enhance IN into OUT; `stage` defaults to the face path (or the plain upscaler).
    `shared`: a live display to add this file's bar to (a batch shows its files' bar there
    too; rich allows one live display at a time); by default the run makes its own."""
    check_options(options)
    info = probe(options.input)
    face_stage = build_face_stage(options) if stage is None else None
    if face_stage is not None:
        stage = face_stage
    if stage is None:

        def stage(frames: Iterator[Frame]) -> Iterator[Frame]:
            return upscale_frames(frames, options.scale, options.background)

    decoder = VideoDecoder(options.input)
    needs = stage_needs(options.faces, options.scale, options.warmup)
    span, audio_window = cut(options.input, options.span, needs)
    settings = EncodeSettings(options.codec, options.crf, options.preset)
    target = VideoTarget.from_info(info, options.scale)
    started = time.perf_counter()
    first = last = None
    with ExitStack() as stack:
        progress = shared
        if progress is None:
            progress = stack.enter_context(make_progress("frames", options.quiet))
        task = progress.add_task("enhance", total=span.frames if span else info.expected_frames)
        if shared is not None:
            stack.callback(progress.remove_task, task)
        writer = stack.enter_context(
            VideoWriter(options.output, target, settings, options.input, audio_window)
        )
        overlay_path = face_stage.options.debug_overlay if face_stage is not None else None
        if face_stage is not None and overlay_path is not None:
            overlay = stack.enter_context(
                VideoWriter(overlay_path, VideoTarget.from_info(info, 1), settings)
            )
            face_stage.overlay_sink = overlay.write
        encode = writer.write if face_stage is None else timed(writer.write, face_stage.times)
        behind = stack.enter_context(OrderedPool[Frame](2, "facesr-encode"))
        for frame in span_frames(decoder, stage, span):
            encoded = behind.submit(encoded_frame, encode, frame)
            if face_stage is not None and encoded:
                progress.update(task, description=f"enhance [{face_stage.times.dominant()}-bound]")
            progress.advance(task, len(encoded))
            first = first or frame
            last = frame
        progress.advance(task, len(behind.drain()))
        progress.update(task, total=writer.frames_written)
    for written in (options.output, overlay_path):
        if written is not None:
            follow_umask(Path(written))
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
        faces_enhanced=face_stage.faces_enhanced if face_stage is not None else 0,
        tracks=len(face_stage.tracks) if face_stage is not None else 0,
        stage_seconds=dict(face_stage.times.seconds) if face_stage is not None else {},
        damaged_video_packets=decoder.stats.failed_packets,
        video_missing=decoder.stats.missing_seconds,
        audio_repairs=writer.audio_repairs,
    )
    if options.report is not None:
        write_report(options.report, summary, face_stage)
    if options.compare is not None:
        write_compare(options, shared)
    if not options.quiet:
        for plan in plans:
            if plan.action == "transcode":
                stderr_console.print(plan.describe(), markup=False, highlight=False, soft_wrap=True)
        stderr_console.print(summary.one_line(), markup=False, highlight=False, soft_wrap=True)
    return summary


def encoded_frame(encode: Callable[[Frame], None], frame: Frame) -> Frame:
    """`encode(frame)`, then the frame, for the progress count."""
    encode(frame)
    return frame


def timed(write: Callable[[Frame], None], times: StageTimes) -> Callable[[Frame], None]:
    """`write`, its seconds added to the face stage's "encode"."""

    def write_timed(frame: Frame) -> None:
        started = time.perf_counter()
        write(frame)
        times.add("encode", time.perf_counter() - started)

    return write_timed


def write_report(path: Path, summary: EnhanceSummary, face_stage: FaceStage | None) -> None:
    """--report: the summary, per-track figures and seconds per stage, as JSON."""
    data = {
        "output": str(summary.output),
        "frames": summary.frames,
        "frames_lost": summary.frames_lost,
        "seconds": summary.seconds,
        "fps": summary.fps,
        "faces_enhanced": summary.faces_enhanced,
        "stage_seconds": summary.stage_seconds,
        "tracks": [t.as_dict() for t in face_stage.tracks.values()] if face_stage else [],
    }
    if face_stage is not None:
        runtime = face_stage.runtime
        data["network_runtime"] = {"name": runtime.name, "precision": runtime.precision}
    if face_stage is not None and face_stage.analyser is not None:
        stats = face_stage.analyser.stats
        data["analysis"] = {
            "detections": stats.faces.detections,
            "skipped_small_faces": stats.faces.skipped_small,
            "fits": stats.fits,
            "unreliable_fits": stats.unreliable_fits,
            "mean_fit_residual": stats.mean_residual,
        }
    write_text_whole(Path(path), json.dumps(data, indent=2))
