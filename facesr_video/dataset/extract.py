"""`extract-priors`: videos and image folders -> a store of aligned face samples with 3D priors.

Per input: high-resolution frames (cropped to a multiple of S) -> degraded low-resolution frames
(dataset/degrade/per_source.py) -> `SequenceAnalyser` (detect, track, fit, smooth; one per
video, smoothing on; one per image, smoothing off) -> for each reliable face not yet stored: the
HR and LR aligned crops -> priors rendered in batches of one crop size -> `StoreWriter`. The fit
only ever sees the degraded frame, as in `enhance`.

Resuming: sources listed as complete in the store (extract_log.py) are skipped outright; any other
source is analysed again and its samples already stored are skipped by key before any crop or
render. Keys are (source id, track id, frame index): track ids come from the analyser, which
numbers tracks from 0 in detection order, so they are the same on a rerun of the same input.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from facesr_video.analysis.face_tracks import AnalyzerConfig
from facesr_video.analysis.motion import box_motion, mesh_motion
from facesr_video.analysis.priors import render_face_priors
from facesr_video.analysis.sequence import (
    AnalysedFrame,
    AnalysisConfig,
    FaceState,
    SequenceAnalyser,
)
from facesr_video.analysis.window import FrameWindow, Window, window_offsets
from facesr_video.dataset.degrade.bicubic import crop_to_multiple
from facesr_video.dataset.degrade.per_source import SourceDegrader, source_degrader
from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.extract_log import ExtractLog, SkipRecord
from facesr_video.dataset.extract_overlay import OverlayWriter
from facesr_video.dataset.extract_sheet import write_contact_sheet
from facesr_video.dataset.inputs import InputItem, list_inputs, read_image
from facesr_video.dataset.store import (
    MANIFEST,
    SHARD_BYTES,
    LayoutInfo,
    NeighbourSample,
    StoreReader,
    StoreSample,
    StoreWriter,
)
from facesr_video.device import resolve_device
from facesr_video.errors import FacesrError, InputError, OutputError
from facesr_video.faces.align import Alignment, crop_image
from facesr_video.files import NamedPath, check_output_folder
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.install import resolve_face_model_path
from facesr_video.progress import make_progress
from facesr_video.render.layout import prior_layout
from facesr_video.timing import StageTimes
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.probe import probe

SCALES = (4, 8)
SHEET_FILE = "contact_sheet.png"
OVERLAY_DIR = "overlays"
STAGES = (
    "read",  # decode or read, crop to a multiple of S, degrade
    "analyse",  # detect + landmarks + track + fit + smooth
    "crop",  # aligned HR and LR crops
    "render",  # prior maps
    "write",  # store appends and shard writes
)


@dataclass(frozen=True)
class ExtractOptions:
    """Everything `extract-priors` needs (the CLI fills it in)."""

    inputs: tuple[Path, ...]
    out: Path
    scale: int
    face_model: Path | None = None
    every: int = 1  # take every n-th video frame
    max_frames: int | None = None  # per video, after `every`
    degradation: str = "realistic"
    min_face: float = 20.0  # LR pixels
    detect_every: int = 1
    min_confidence: float = 0.3  # faces whose smoothed fit is trusted less are skipped
    overlay: bool = False
    seed: int = 0
    shard_size: int = 256  # samples per shard at most
    shard_bytes: int = SHARD_BYTES  # bytes per shard at most: what is held before writing one
    render_batch: int = 16
    neighbours: int = 0  # store frames t-K..t+K (K = this) with each video sample, registered
    sample_every: int = 1  # store every N-th analysed frame's faces (neighbours use all frames)
    device: str = "auto"
    sheet_rows: int = 12
    quiet: bool = False


@dataclass(frozen=True)
class ExtractSummary:
    """What a run did, for the one-line summary and for tests."""

    store: Path
    inputs: int
    already_done: int  # inputs skipped because a previous run completed them
    frames: int  # frames (images or video frames) analysed
    faces_stored: int  # new samples written by this run
    faces_present: int  # faces found whose sample was already in the store
    samples_total: int  # samples in the store after the run
    skipped: tuple[SkipRecord, ...]
    seconds: float
    stage_seconds: dict[str, float]  # STAGES -> wall-clock seconds summed over the run

    @property
    def faces_per_second(self) -> float:
        return self.faces_stored / self.seconds if self.seconds > 0 else 0.0

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.skipped:
            counts[record.reason] = counts.get(record.reason, 0) + record.count
        return counts

    def one_line(self) -> str:
        skipped = ", ".join(f"{r} {n}" for r, n in sorted(self.skipped_by_reason().items()))
        done = f" ({self.already_done} already complete)" if self.already_done else ""
        present = f" ({self.faces_present} already stored)" if self.faces_present else ""
        return (
            f"{self.inputs} inputs{done}, {self.frames} frames, {self.faces_stored} faces "
            f"stored{present}, skipped: {skipped or 'none'}; {self.seconds:.1f} s, "
            f"{self.faces_per_second:.1f} faces/s; store {self.store} holds "
            f"{self.samples_total} samples"
        )


@dataclass(frozen=True, eq=False)
class _Payload:
    """What a frame carries through the analyser's lag: its index and both resolutions."""

    frame_index: int
    hr: np.ndarray  # (S*h, S*w, 3) uint8
    lr: np.ndarray  # (h, w, 3) uint8, what the fit saw


@dataclass(frozen=True, eq=False)
class _FaceJob:
    source: str
    track: int
    frame: int
    hr: np.ndarray  # (S*n, S*n, 3) uint8
    lr: np.ndarray  # (n, n, 3) uint8
    fit: FaceFit
    alignment: Alignment  # LR frame -> LR crop
    face: FaceState | None = None  # with neighbours: the face, for the motion
    neighbour_faces: tuple[FaceState | None, ...] = ()
    neighbour_hr: np.ndarray | None = None  # (N, S*n, S*n, 3) uint8 in this crop's window


@dataclass
class _Counters:
    frames: int = 0
    stored: int = 0
    present: int = 0
    times: StageTimes = field(default_factory=lambda: StageTimes(STAGES))


def crop_region(rgb: np.ndarray, alignment: Alignment, margin: int = 2) -> np.ndarray:
    """Aligned crop (n, n, 3) uint8 of an (H, W, 3) uint8 frame, reading only the face's region.

    Same pixels as `crop_image(rgb, alignment)` up to float rounding (bilinear taps stay inside
    the margin), without converting the whole frame to float: a face of a 4K frame costs its
    own size, not the frame's.
    """
    n = alignment.crop_size
    corners = np.array(
        [[-0.5, -0.5, 1], [n - 0.5, -0.5, 1], [-0.5, n - 0.5, 1], [n - 0.5, n - 0.5, 1]]
    )
    xy = corners @ alignment.frame_from_crop.T  # (4, 2)
    height, width = rgb.shape[:2]
    x0 = int(np.clip(math.floor(xy[:, 0].min()) - margin, 0, width - 1))
    y0 = int(np.clip(math.floor(xy[:, 1].min()) - margin, 0, height - 1))
    x1 = int(np.clip(math.ceil(xy[:, 0].max()) + margin + 1, x0 + 1, width))
    y1 = int(np.clip(math.ceil(xy[:, 1].max()) + margin + 1, y0 + 1, height))
    matrix = alignment.crop_from_frame.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    return crop_image(np.ascontiguousarray(rgb[y0:y1, x0:x1]), Alignment(matrix, n))


class _Extractor:
    """One run: owns the model, the writer, the render queue and the counters."""

    def __init__(
        self, options: ExtractOptions, model: FaceModel, writer: StoreWriter, device: torch.device
    ) -> None:
        self.options = options
        self.model = model
        self.writer = writer
        self.log = ExtractLog(options.out)
        self.counters = _Counters()
        self.skipped: list[SkipRecord] = []
        self.faces_config = AnalyzerConfig(
            min_face=options.min_face, detect_every=options.detect_every
        )
        self.device = device
        self._queue: dict[int, list[_FaceJob]] = {}
        self._finished: list[str] = []  # sources complete but not yet recorded as such
        self._shards_recorded = writer.num_shards
        self._samples: dict[str, int] = {}
        self.settings = (
            f"every={options.every} max_frames={options.max_frames} min_face={options.min_face:g} "
            f"detect_every={options.detect_every} min_confidence={options.min_confidence:g} "
            f"degradation={options.degradation} seed={options.seed}"
        )
        if options.neighbours or options.sample_every > 1:  # old stores' records stay valid
            self.settings += f" neighbours={options.neighbours} sample_every={options.sample_every}"

    # -- per source ------------------------------------------------------------------------

    def run_item(self, item: InputItem) -> None:
        skips: dict[str, int] = {}
        try:
            if item.kind == "image":
                self._image(item, skips)
            else:
                self._video(item, skips)
        except InputError as error:
            reason = "unreadable image" if item.kind == "image" else "unreadable video"
            skips = {reason: 1}
            self._note(f"{item.source}: {error.one_line()}")
        self._render_all()
        records = [SkipRecord(item.source, r, n) for r, n in sorted(skips.items())]
        self.skipped.extend(records)
        self.log.set_skipped(item.source, records)
        self._finished.append(item.source)
        self._record_done()

    def _image(self, item: InputItem, skips: dict[str, int]) -> None:
        start = time.perf_counter()
        rgb = read_image(item.path)
        hr, lr = self._degrade(rgb, source_degrader(*self._degrade_args(item.source)))
        self.counters.times.add("read", time.perf_counter() - start)
        if hr is None or lr is None:
            skips["image too small"] = 1
            return
        analyser = SequenceAnalyser(
            self.model, AnalysisConfig(faces=self.faces_config, smoothing=False)
        )
        start = time.perf_counter()
        frames = analyser.push(0, lr, _Payload(0, hr, lr)) + analyser.finish()
        self.counters.times.add("analyse", time.perf_counter() - start)
        self.counters.frames += 1
        stored = self._take(item.source, [(f, ()) for f in frames], skips)
        faces = analyser.stats.faces
        if faces.observations == 0:
            skips["face too small" if faces.skipped_small else "no face"] = 1
        elif stored == 0 and not skips:
            skips["no reliable fit"] = 1

    def _video(self, item: InputItem, skips: dict[str, int]) -> None:
        info = probe(item.path)
        degrader = source_degrader(*self._degrade_args(item.source))
        analyser: SequenceAnalyser[_Payload] = SequenceAnalyser(
            self.model, AnalysisConfig(faces=self.faces_config, smoothing=True)
        )
        overlay = None
        if self.options.overlay:
            overlay = OverlayWriter(
                self.options.out / OVERLAY_DIR, item.source, info, self.model, self.options.scale
            )
        frames = self._frames(item)
        window = FrameWindow[_Payload](window_offsets(self.options.neighbours))
        try:
            taken = 0
            while True:
                start = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                hr, lr = self._degrade(frame.rgb, degrader)
                self.counters.times.add("read", time.perf_counter() - start)
                if hr is None or lr is None:
                    skips["frame too small"] = skips.get("frame too small", 0) + 1
                    continue
                start = time.perf_counter()
                ready = analyser.push(taken, lr, _Payload(frame.index, hr, lr))
                self.counters.times.add("analyse", time.perf_counter() - start)
                taken += 1
                self.counters.frames += 1
                self._take(item.source, window.push(ready), skips, overlay)
            start = time.perf_counter()
            ready = analyser.finish()
            self.counters.times.add("analyse", time.perf_counter() - start)
            self._take(item.source, window.push(ready) + window.finish(), skips, overlay)
        finally:
            if overlay is not None:
                overlay.close()
        if analyser.stats.faces.observations == 0:
            skips["no face"] = 1

    def _frames(self, item: InputItem) -> Iterator[Frame]:
        every, limit = self.options.every, self.options.max_frames
        taken = 0
        for frame in VideoDecoder(item.path):
            if limit is not None and taken >= limit:
                return
            if frame.index % every == 0:
                taken += 1
                yield frame

    def _degrade_args(self, source: str) -> tuple[str, int, int, str]:
        return (self.options.degradation, self.options.scale, self.options.seed, source)

    def _degrade(
        self, rgb: np.ndarray, degrader: SourceDegrader
    ) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
        scale = self.options.scale
        if rgb.shape[0] < 16 * scale or rgb.shape[1] < 16 * scale:
            return None, None
        hr = np.ascontiguousarray(crop_to_multiple(rgb, scale))
        return hr, degrader(hr)

    # -- faces -> samples ------------------------------------------------------------------

    def _take(
        self,
        source: str,
        frames: list[tuple[AnalysedFrame[_Payload], Window[_Payload]]],
        skips: dict[str, int],
        overlay: OverlayWriter | None = None,
    ) -> int:
        """Queue the reliable, not yet stored faces of analysed frames; returns how many."""
        taken = 0
        scale = self.options.scale
        for analysed, window in frames:
            payload = analysed.payload
            if overlay is not None:
                overlay.write(analysed)
            if analysed.index % self.options.sample_every:
                continue
            for face in analysed.faces:
                if not face.reliable or face.confidence < self.options.min_confidence:
                    skips["unreliable fit"] = skips.get("unreliable fit", 0) + 1
                    continue
                if self.writer.has(source, face.track_id, payload.frame_index):
                    self.counters.present += 1
                    continue
                start = time.perf_counter()
                hr = crop_region(payload.hr, face.alignment.scaled(scale))
                lr = crop_region(payload.lr, face.alignment)
                self.counters.times.add("crop", time.perf_counter() - start)
                job = _FaceJob(
                    source, face.track_id, payload.frame_index, hr, lr, face.fit, face.alignment
                )
                if self.options.neighbours and window:  # a still has none: stored without
                    job = self._with_neighbours(job, face, window)
                group = self._queue.setdefault(face.alignment.crop_size, [])
                group.append(job)
                taken += 1
                if len(group) >= self.options.render_batch:
                    self._render(face.alignment.crop_size)
        return taken

    def _with_neighbours(
        self, job: _FaceJob, face: FaceState, window: Window[_Payload]
    ) -> _FaceJob:
        """The job plus the same track's face in each neighbour frame and those frames' pixels
        in this crop's window (zeros and None where the face is not there)."""
        hr_alignment = face.alignment.scaled(self.options.scale)
        faces: list[FaceState | None] = []
        pixels = np.zeros((len(window), *job.hr.shape), np.uint8)
        for i, frame in enumerate(window):
            other = frame.face(face.track_id) if frame is not None else None
            faces.append(other)
            if other is not None and frame is not None:
                pixels[i] = crop_region(frame.payload.hr, hr_alignment)
        return replace(job, face=face, neighbour_faces=tuple(faces), neighbour_hr=pixels)

    def _render_all(self) -> None:
        for size in list(self._queue):
            self._render(size)

    def _render(self, size: int) -> None:
        jobs = self._queue.pop(size, [])
        if not jobs:
            return
        start = time.perf_counter()
        with torch.no_grad():
            priors = render_face_priors(
                self.model,
                [j.fit for j in jobs],
                [j.alignment for j in jobs],
                self.options.scale,
                device=self.device,
            )
        maps = np.ascontiguousarray(priors.maps.to(torch.float16).cpu().numpy())
        coefficients = priors.coefficients
        assert coefficients is not None
        coeffs = coefficients.float().cpu().numpy()
        neighbours = self._neighbour_samples(jobs)
        self.counters.times.add("render", time.perf_counter() - start)
        start = time.perf_counter()
        for i, job in enumerate(jobs):
            sample = StoreSample(
                job.hr,
                job.lr,
                maps[i],
                coeffs[i],
                job.source,
                job.track,
                job.frame,
                neighbours.get(i),
            )
            if self.writer.append(sample):  # writes a shard when one is full
                self.counters.stored += 1
                self._samples[job.source] = self._samples.get(job.source, 0) + 1
        self.counters.times.add("write", time.perf_counter() - start)
        self._record_done()

    def _neighbour_samples(self, jobs: list[_FaceJob]) -> dict[int, NeighbourSample]:
        """Motion (both registrations) of the jobs that have neighbours, by job position."""
        chosen = [i for i, j in enumerate(jobs) if j.face is not None]
        if not chosen:
            return {}
        faces = [jobs[i].face for i in chosen]
        rows = [jobs[i].neighbour_faces for i in chosen]
        with torch.no_grad():
            box = box_motion(faces, rows, self.device)  # type: ignore[arg-type]
            by_name = {"box": box, "mesh": mesh_motion(self.model, faces, rows, box)}  # type: ignore[arg-type]
        motions = {
            name: (
                motion.flow.to(torch.float16).cpu().numpy(),
                motion.confidence.to(torch.float16).cpu().numpy(),
            )
            for name, motion in by_name.items()
        }
        samples = {}
        for k, i in enumerate(chosen):
            hr = jobs[i].neighbour_hr
            assert hr is not None
            samples[i] = NeighbourSample(
                hr=hr,
                flow={name: m[0][k] for name, m in motions.items()},
                confidence={name: m[1][k] for name, m in motions.items()},
            )
        return samples

    def _record_done(self) -> None:
        """Once a shard was written: record the finished sources now wholly in shards."""
        if self.writer.num_shards == self._shards_recorded:
            return
        self._shards_recorded = self.writer.num_shards
        waiting = self.writer.buffered_sources()
        done = [s for s in self._finished if s not in waiting]
        self._finished = [s for s in self._finished if s in waiting]
        self.log.mark_done(done, self._samples, self.settings)
        self.log.save()

    def commit(self) -> None:
        """Write the buffered samples as a last shard; record every finished source as complete."""
        start = time.perf_counter()
        self.writer.flush()
        self.log.mark_done(self._finished, self._samples, self.settings)
        self._finished = []
        self.log.save()
        self.counters.times.add("write", time.perf_counter() - start)

    def _note(self, text: str) -> None:
        if not self.options.quiet:
            from facesr_video.progress import stderr_console

            stderr_console.print(f"[yellow]skipped[/yellow] {text}", highlight=False)


def _check(options: ExtractOptions) -> None:
    if options.scale not in SCALES:
        raise InputError(f"--scale must be 4 or 8, got {options.scale}")
    if options.every < 1:
        raise InputError(f"--every must be at least 1, got {options.every}")
    if options.neighbours < 0 or options.sample_every < 1:
        raise InputError("--neighbours must be >= 0 and --sample-every >= 1")
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {options.max_frames}")
    if options.degradation not in DEGRADATIONS:
        raise InputError(
            f"unknown degradation {options.degradation!r}",
            f"use one of {', '.join(sorted(DEGRADATIONS))}",
        )
    if options.out.exists() and not options.out.is_dir():
        raise OutputError(f"--out is a file, not a folder: {options.out}")
    check_output_folder(
        NamedPath("--out", options.out), [NamedPath("input", p) for p in options.inputs]
    )


def extract_priors(options: ExtractOptions) -> ExtractSummary:
    """Run extract-priors; returns the summary. FacesrError for anything the user can fix."""
    began = time.perf_counter()
    _check(options)
    device = resolve_device(options.device)
    listing = list_inputs(options.inputs)  # missing inputs fail here, before anything is written
    model = load_face_model(resolve_face_model_path(options.face_model))
    layout = prior_layout(model)
    info = LayoutInfo(layout.version, layout.channels, layout.num_coefficients)
    out = options.out
    created = not (out / MANIFEST).exists() and not (out.is_dir() and any(out.iterdir()))
    writer = StoreWriter(
        out,
        options.scale,
        info,
        options.shard_size,
        options.shard_bytes,
        window_offsets(options.neighbours),
    )
    extractor = _Extractor(options, model, writer, device)
    already = 0
    try:
        with writer, make_progress("inputs", options.quiet) as progress:
            task = progress.add_task("extract-priors", total=len(listing.items))
            for item in listing.items:
                if extractor.log.is_done(item.source, extractor.settings):
                    already += 1
                else:
                    progress.update(task, description=_describe(item, extractor, began))
                    extractor.run_item(item)
                progress.advance(task)
            progress.update(task, description=_describe(None, extractor, began))
            extractor.commit()
    except BaseException:
        if created and writer.num_samples == 0:
            shutil.rmtree(out, ignore_errors=True)
        raise
    c = extractor.counters
    skipped = tuple(SkipRecord(p, r, 1) for p, r in listing.empty) + tuple(extractor.skipped)
    summary = ExtractSummary(
        store=out,
        inputs=len(listing.items),
        already_done=already,
        frames=c.frames,
        faces_stored=c.stored,
        faces_present=c.present,
        samples_total=writer.num_samples,
        skipped=skipped,
        seconds=time.perf_counter() - began,
        stage_seconds=c.times.seconds,
    )
    if summary.samples_total == 0:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(summary.skipped_by_reason().items()))
        raise InputError(
            f"no usable face in any input ({summary.inputs} inputs; {reasons or 'nothing read'})",
            f"faces must be at least --min-face {options.min_face:g} px wide after the x"
            f"{options.scale} downscale; try --scale 4 or a smaller --min-face",
        )
    try:
        write_contact_sheet(StoreReader(out), out / SHEET_FILE, rows=options.sheet_rows)
    except FacesrError:
        raise
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot write the contact sheet in {out}: {error}") from error
    return summary


def _describe(item: InputItem | None, extractor: _Extractor, began: float) -> str:
    stored = extractor.counters.stored
    rate = stored / max(time.perf_counter() - began, 1e-9)
    name = item.source if item is not None else "done"
    if len(name) > 32:
        name = "..." + name[-29:]
    return f"{name} | {stored} faces, {rate:.1f} faces/s"
