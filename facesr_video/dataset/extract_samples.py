"""extract-priors' faces -> samples: aligned HR and LR crops, queued by crop size, their priors
rendered in batches, then appended to the store (with the neighbours' pixels and motion when the
store keeps neighbours)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from facesr_video.analysis.motion import box_motion, mesh_motion
from facesr_video.analysis.priors import render_face_priors
from facesr_video.analysis.sequence import AnalysedFrame, FaceState
from facesr_video.analysis.window import Window
from facesr_video.dataset.extract_options import STAGES, ExtractOptions
from facesr_video.dataset.extract_overlay import OverlayWriter
from facesr_video.dataset.store import NeighbourSample, StoreSample, StoreWriter
from facesr_video.faces.align import Alignment, crop_image
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit
from facesr_video.timing import StageTimes


@dataclass(frozen=True, eq=False)
class FramePayload:
    """What a frame carries through the analyser's lag: its index and both resolutions."""

    frame_index: int
    hr: np.ndarray  # (S*h, S*w, 3) uint8
    lr: np.ndarray  # (h, w, 3) uint8, what the fit saw


@dataclass(frozen=True, eq=False)
class FaceJob:
    """One face to store: its crops and fit, waiting for its priors."""

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
class ExtractCounters:
    """What a run has done so far, for its progress line and summary."""

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


class SampleQueue:
    """Faces waiting for their priors, by crop size; stored a batch at a time."""

    def __init__(
        self,
        options: ExtractOptions,
        model: FaceModel,
        writer: StoreWriter,
        device: torch.device,
        counters: ExtractCounters,
        after_write: Callable[[], None],
    ) -> None:
        self.options = options
        self.model = model
        self.writer = writer
        self.device = device
        self.counters = counters
        self.after_write = after_write  # called once a batch was appended (a shard may be out)
        self.samples: dict[str, int] = {}  # source -> samples stored by this run
        self._queue: dict[int, list[FaceJob]] = {}

    def take(
        self,
        source: str,
        frames: list[tuple[AnalysedFrame[FramePayload], Window[FramePayload]]],
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
                job = FaceJob(
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
        self, job: FaceJob, face: FaceState, window: Window[FramePayload]
    ) -> FaceJob:
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

    def render_all(self) -> None:
        """Render and store every queued face."""
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
                self.samples[job.source] = self.samples.get(job.source, 0) + 1
        self.counters.times.add("write", time.perf_counter() - start)
        self.after_write()

    def _neighbour_samples(self, jobs: list[FaceJob]) -> dict[int, NeighbourSample]:
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
