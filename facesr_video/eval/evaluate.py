"""`evaluate`: degrade high-resolution clips, run each method, score the faces, write the report.

For every clip and method there is one streaming pass: original frames are decoded (cropped to a
multiple of S), degraded (`degrade.bicubic`), handed to the method's frame stage, and each output is
scored against its original as it comes out (`eval.scoring`), in the face regions found once on
the originals (`eval.reference`). Only the originals still inside a stage's lag, the previous
frame pair and a few sample frames are held; the reference faces, found in the first pass and
needed by every pass, wait in a temporary file (`ReferenceSpool`). A method's speed is the time
spent inside its stage, excluding decoding, degradation and scoring.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.progress import Progress, TaskID

from facesr_video import __version__
from facesr_video.dataset.degrade.bicubic import DEGRADATION, downscale
from facesr_video.dataset.degrade.h264 import H264Stream
from facesr_video.enhance.face_stage import PASTE_MODES
from facesr_video.enhance.prepare import FACE_SCALES
from facesr_video.enhance.stabilise import STRENGTH
from facesr_video.errors import InputError, OutputError
from facesr_video.eval.clips import EvalClip, list_clips, original_frames
from facesr_video.eval.identity import IdentityEncoder
from facesr_video.eval.methods import MethodSpec, build_methods
from facesr_video.eval.reference import (
    ReferenceAnalyser,
    ReferenceFrame,
    ReferenceSpool,
)
from facesr_video.eval.report import ReportFiles, write_report
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    METHOD_OURS,
    ClipResult,
    MethodScores,
    ReportMeta,
    method_means,
)
from facesr_video.eval.samples import SampleKeeper, sample_targets
from facesr_video.eval.scoring import MethodScorer
from facesr_video.files import NamedPath, check_output_folder
from facesr_video.progress import make_progress, stderr_console
from facesr_video.scale.pool import advance
from facesr_video.sr.runtimes import RUNTIMES
from facesr_video.video.decode import Frame
from facesr_video.video.quality import QUALITY_CHOICES


@dataclass(frozen=True)
class EvaluateOptions:
    """The evaluate command's options."""

    inputs: tuple[Path, ...]
    out: Path
    scale: int
    weights: Path | None = None  # None: the shipped weights for the scale
    weights_no_priors: Path | None = None  # also run these (a `--priors none` network)
    no_smoothing_too: bool = False  # also run ours with raw per-frame fits
    face_model: Path | None = None
    device: str = "auto"
    min_face: float = 20.0  # low-resolution pixels: faces enhanced, and faces scored (x S)
    smooth_lag: int = 5
    max_frames: int | None = None  # per clip
    samples: int = 3  # frames shown per clip
    overwrite: bool = False
    quiet: bool = False
    paste: str = "crop"  # FaceOptions.paste
    degradation: str = "bicubic"  # bicubic | h264 (then libx264 CRF 23 over the LR clip)
    frames: int | None = None  # FaceOptions.frames (None: the network's window)
    registration: str = "mesh"  # FaceOptions.registration
    weights_single_frame: Path | None = None  # also run these (single-frame) weights
    one_frame_too: bool = True  # a multi-frame ours is also run without neighbours
    stabilise: float = STRENGTH  # FaceOptions.stabilise
    jobs: int = 1  # clips scored in this many processes (eval/clip_jobs.py)
    input_quality: str = "auto"  # auto: what enhance's auto decides for this degradation
    runtime: str = "auto"  # FaceOptions.runtime
    prior_controls: bool = False  # also run ours with the mean face's priors and with zeros

    def command_line(self) -> str:
        """The equivalent command, written into the report so a reader can reproduce it."""
        words = ["facesr-video", "evaluate", *map(str, self.inputs)]
        words += ["--scale", str(self.scale), "--out", str(self.out)]
        for flag, value in (
            ("--weights", self.weights),
            ("--weights-no-priors", self.weights_no_priors),
            ("--weights-single-frame", self.weights_single_frame),
            ("--frames", self.frames),
            ("--face-model", self.face_model),
            ("--max-frames", self.max_frames),
        ):
            if value is not None:
                words += [flag, str(value)]
        if self.no_smoothing_too:
            words.append("--no-smoothing-too")
        if self.device != "auto":
            words += ["--device", self.device]
        if self.min_face != 20.0:
            words += ["--min-face", f"{self.min_face:g}"]
        if self.smooth_lag != 5:
            words += ["--smooth-lag", str(self.smooth_lag)]
        if self.degradation != "bicubic":
            words += ["--degradation", self.degradation]
        if self.paste != "crop":
            words += ["--paste", self.paste]
        if self.registration != "mesh":
            words += ["--registration", self.registration]
        if not self.one_frame_too:
            words.append("--skip-one-frame")
        if self.stabilise != STRENGTH:
            words += ["--stabilise", f"{self.stabilise:g}"]
        if self.jobs != 1:
            words += ["--jobs", str(self.jobs)]
        if self.input_quality != "auto":
            words += ["--input-quality", self.input_quality]
        if self.runtime != "auto":
            words += ["--runtime", self.runtime]
        if self.prior_controls:
            words.append("--prior-controls")
        return shlex.join(words)


@dataclass(frozen=True)
class EvaluateSummary:
    """What a run measured and wrote."""

    clips: tuple[ClipResult, ...]
    means: tuple[MethodScores, ...]
    files: ReportFiles
    seconds: float
    clip_seconds: tuple[float, ...] = field(default=())  # wall time per clip, all passes

    def one_line(self) -> str:
        frames = sum(c.frames for c in self.clips)
        faces = sum(c.faces for c in self.clips)
        no_face = sum(1 for c in self.clips if c.faces == 0)
        means = {m.method: m for m in self.means}
        line = (
            f"evaluated {len(self.clips)} clip(s), {frames} frames, {faces} faces scored "
            f"in {self.seconds:.1f} s"
        )
        ours, bicubic = means.get(METHOD_OURS), means.get(METHOD_BICUBIC)
        if ours is not None and bicubic is not None and not math.isnan(ours.psnr):
            line += (
                f"; face PSNR ours {ours.psnr:.2f} dB vs bicubic {bicubic.psnr:.2f} dB "
                f"({ours.psnr - bicubic.psnr:+.2f} dB)"
            )
        if no_face:
            line += f"; {no_face} clip(s) without a face"
        return line + f"; report: {self.files.markdown}"


def check_options(options: EvaluateOptions) -> None:
    """Everything refused before any work: scale, frame limit, the report folder."""
    if options.scale not in FACE_SCALES:
        raise InputError(
            f"evaluate works at x2, x4 and x8, not x{options.scale}", "use --scale 2, 4 or 8"
        )
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {options.max_frames}")
    if options.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {options.jobs}")
    if options.degradation not in DEGRADATIONS:
        raise InputError(
            f"--degradation must be one of {', '.join(DEGRADATIONS)}, got {options.degradation!r}"
        )
    if options.paste not in PASTE_MODES:
        raise InputError(f"--paste must be one of {', '.join(PASTE_MODES)}, got {options.paste!r}")
    if options.input_quality not in QUALITY_CHOICES:
        choices = ", ".join(QUALITY_CHOICES)
        raise InputError(f"--input-quality must be one of {choices}, got {options.input_quality!r}")
    if options.runtime not in RUNTIMES:
        choices = ", ".join(RUNTIMES)
        raise InputError(f"--runtime must be one of {choices}, got {options.runtime!r}")
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"report folder {out} is a file", "give --out a folder path")
    check_output_folder(NamedPath("--out", out), [NamedPath("input", p) for p in options.inputs])
    if out.is_dir() and any(out.iterdir()) and not options.overwrite:
        raise OutputError(
            f"report folder {out} exists and is not empty",
            "pass --overwrite to replace the report in it, or choose another --out",
        )


def _clear_old_report(out: Path) -> None:
    """--overwrite: remove a previous report's pictures so none of them is left stale."""
    if not (out / "report.json").is_file():
        return
    for picture in (out / "pictures").glob("*.png"):
        picture.unlink()


H264_CRF = 23
DEGRADATIONS = ("bicubic", "h264")


def degradation_text(name: str) -> str:
    """The report's description of an `--degradation` choice."""
    if name == "h264":
        return f"{DEGRADATION}; then the LR clip coded with libx264 CRF {H264_CRF} (zerolatency)"
    return DEGRADATION


class _ClipRun:
    """The state one clip's passes share: reference faces (computed once) and samples."""

    def __init__(self, clip: EvalClip, options: EvaluateOptions, encoder: IdentityEncoder) -> None:
        self.clip = clip
        self.options = options
        self.encoder = encoder
        self.analyser = ReferenceAnalyser(encoder, min_face=options.min_face * options.scale)
        self.references = ReferenceSpool()
        self.samples = SampleKeeper(
            sample_targets(clip.expected_frames, options.samples), options.scale
        )
        self.size = (0, 0)

    def reference(self, frame: Frame) -> ReferenceFrame:
        return self.references.get(frame.index, lambda: self.analyser(frame.index, frame.rgb))

    def run_pass(self, method: MethodSpec, advance: Callable[[], None]) -> tuple[MethodScores, int]:
        """Stream the clip through one method; its scores and the frame count."""
        scale = self.options.scale
        self.references.rewind()
        pending: dict[int, Frame] = {}
        feeding = 0.0
        codec = H264Stream(H264_CRF) if self.options.degradation == "h264" else None

        def low_frames() -> Iterator[Frame]:
            nonlocal feeding
            source = original_frames(self.clip, scale, self.options.max_frames)
            while True:
                started = time.perf_counter()
                frame = next(source, None)
                if frame is not None:
                    pending[frame.index] = frame
                    small = downscale(frame.rgb, scale)
                    low = frame.with_rgb(small if codec is None else codec(small))
                feeding += time.perf_counter() - started
                if frame is None:
                    return
                yield low

        scorer = MethodScorer(method.name, self.encoder)
        outputs = method.build()(low_frames())
        inside, frames = 0.0, 0
        while True:
            started = time.perf_counter()
            output = next(outputs, None)
            inside += time.perf_counter() - started
            if output is None:
                break
            original = pending.pop(output.index)
            reference = self.reference(original)
            scorer.add(output.rgb, original.rgb, reference)
            self.samples.offer(method.name, output.index, original.rgb, output.rgb, reference)
            self.size = (original.rgb.shape[1], original.rgb.shape[0])
            frames += 1
            advance()
        if pending:
            raise RuntimeError(f"{method.name} dropped frames {sorted(pending)[:5]}")
        return scorer.result(inside - feeding, frames, series=self.clip.kind == "video"), frames

    def result(self, scores: list[MethodScores], frames: int, names: tuple[str, ...]) -> ClipResult:
        faces = self.references.faces
        self.references.close()  # the clip's last step
        return ClipResult(
            name=self.clip.name,
            source=str(self.clip.path),
            scale=self.options.scale,
            frames=frames,
            faces=faces,
            width=self.size[0],
            height=self.size[1],
            methods=tuple(scores),
            samples=self.samples.samples(names),
        )


def evaluate(options: EvaluateOptions) -> EvaluateSummary:
    """Run the whole evaluation and write the report into ``options.out``."""
    started = time.perf_counter()
    check_options(options)
    clips = list_clips(options.inputs, options.max_frames)
    methods, settings, device = build_methods(options)
    known = [c.expected_frames for c in clips]
    total = sum(k for k in known if k is not None) * len(methods) if None not in known else None
    results: list[ClipResult] = []
    clip_seconds: list[float] = []
    with make_progress("frames", options.quiet) as progress:
        task = progress.add_task("evaluate", total=total)
        if options.jobs > 1 and len(clips) > 1:
            from facesr_video.eval.clip_jobs import evaluate_in_processes

            done = evaluate_in_processes(options, clips, progress, task)
        else:
            encoder = IdentityEncoder()
            done = [evaluate_clip(c, options, methods, encoder, progress, task) for c in clips]
        for result, seconds in done:
            results.append(result)
            clip_seconds.append(seconds)
    meta = ReportMeta(
        scale=options.scale,
        degradation=degradation_text(options.degradation),
        command=options.command_line(),
        version=__version__,
        device=device,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=tuple(settings.items()),
    )
    if options.overwrite:
        _clear_old_report(Path(options.out))
    files = write_report(Path(options.out), results, meta)
    summary = EvaluateSummary(
        clips=tuple(results),
        means=method_means(results),
        files=files,
        seconds=time.perf_counter() - started,
        clip_seconds=tuple(clip_seconds),
    )
    if not options.quiet:
        stderr_console.print(summary.one_line(), markup=False, highlight=False, soft_wrap=True)
    return summary


def evaluate_clip(
    clip: EvalClip,
    options: EvaluateOptions,
    methods: tuple[MethodSpec, ...],
    encoder: IdentityEncoder,
    progress: Progress | None = None,
    task: TaskID | None = None,
) -> tuple[ClipResult, float]:
    """Every method's pass over one clip; its result and wall time. One frame of one method
    advances `progress` (or, in a worker process, the pool's shared count)."""
    started = time.perf_counter()
    run = _ClipRun(clip, options, encoder)
    scores, frames = [], 0
    for method in methods:
        if progress is not None and task is not None:
            progress.update(task, description=f"{_short(clip.name)} {method.name}")
            method_scores, frames = run.run_pass(method, lambda: progress.advance(task))
        else:
            method_scores, frames = run.run_pass(method, advance)
        scores.append(method_scores)
        if method is methods[0]:
            run.samples.end_first_pass()
    result = run.result(scores, frames, tuple(m.name for m in methods))
    seconds = time.perf_counter() - started
    if progress is not None and clip.kind == "video" and not options.quiet:
        print_clip(result, seconds)
    return result, seconds


def _short(name: str) -> str:
    return name if len(name) <= 32 else "..." + name[-29:]


def print_clip(clip: ClipResult, seconds: float) -> None:
    """One line per video clip as it finishes (so a long run shows figures early)."""
    parts = [f"{s.method} {s.psnr:.2f} dB" for s in clip.methods if not math.isnan(s.psnr)]
    figures = ", ".join(parts) if parts else "no face found"
    stderr_console.print(
        f"{clip.name}: {clip.frames} frames, {clip.faces} faces, {figures} ({seconds:.1f} s)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
