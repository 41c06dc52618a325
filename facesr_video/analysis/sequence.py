"""Streaming face analysis for a sequence: detect/track -> 3DMM fit -> fixed-lag smoothing.

One `SequenceAnalyser` serves `enhance`, `extract-priors` and `evaluate`. Frames go in one at a
time with a payload (the decoded frame, say); they come out `lag` frames later, in order, each
with the smoothed fit of every face in it. Only the last `lag` frames are held, so memory does
not grow with the length of the video.

The crop of a face is re-aligned from the smoothed fit's projected landmarks, not from dlib's
raw landmarks, so it does not jitter from frame to frame.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from facesr_video.analysis.blas import single_threaded_blas
from facesr_video.analysis.face_tracks import AnalyzerConfig, AnalyzerStats, FaceAnalyzer
from facesr_video.faces.align import Alignment, align, align_native
from facesr_video.faces.observation import FaceObservation
from facesr_video.faces.shots import ShotChangeDetector
from facesr_video.morph.camera import camera_vertices, project
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit, LandmarkFitter, TrackIdentity
from facesr_video.morph.lighting import fit_lighting_from_image
from facesr_video.morph.smooth import FitSmoother, SmoothedFit
from facesr_video.timing import StageTimes

Payload = TypeVar("Payload")


@dataclass(frozen=True)
class AnalysisConfig:
    """Options of the sequence analysis."""

    faces: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    smoothing: bool = True  # False: raw per-frame fits (for comparison)
    smooth_lag: int = 5  # frames of delay and buffering of the fixed-lag smoother
    fit_lighting: bool = True  # SH lighting from the low-resolution pixels
    max_residual: float = 0.25  # fits worse than this (per inter-ocular distance) are unreliable
    # "native": axis-aligned crops of whole frame pixels (no resampling: enhance);
    # "similarity": upright, template-aligned crops (resampled).
    crop: str = "native"
    cuts: bool = True  # end every track at a scene cut (faces/shots.py)


@dataclass(frozen=True, eq=False)
class FaceState:
    """One face in one frame, after fitting and smoothing."""

    track_id: int
    observation: FaceObservation  # dlib's view of the face (raw landmarks, box)
    fit: FaceFit  # the (smoothed) 3DMM fit, in low-resolution frame pixels
    confidence: float  # [0, 1]: how much to trust the fit (fades the face out when low)
    landmarks68: np.ndarray  # (68, 2) the fit's projected landmarks, frame pixels
    alignment: Alignment  # crop from the frame, aligned on `landmarks68`

    @property
    def reliable(self) -> bool:
        return bool(self.fit.reliable)


@dataclass(frozen=True, eq=False)
class AnalysedFrame(Generic[Payload]):
    """A frame leaving the analysis: its index, its payload and its faces (by track id)."""

    index: int
    payload: Payload
    faces: tuple[FaceState, ...]

    def face(self, track_id: int) -> FaceState | None:
        """This frame's face of a track, or None when the track has none here."""
        return next((f for f in self.faces if f.track_id == track_id), None)


@dataclass
class _Track:
    first_frame: int
    identity: TrackIdentity
    smoother: FitSmoother | None
    previous: FaceFit | None = None
    last_frame: int = -1


@dataclass
class _Pending(Generic[Payload]):
    index: int
    payload: Payload
    observations: dict[int, FaceObservation]
    fits: dict[int, FaceFit]
    smoothed: dict[int, SmoothedFit] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisStats:
    """Counts for summaries and reports."""

    faces: AnalyzerStats
    fits: int
    unreliable_fits: int
    mean_residual: float


@dataclass(frozen=True)
class Observed:
    """What `SequenceAnalyser.observe` saw in one frame: a shot cut before it, and its faces."""

    index: int
    cut: bool
    observations: dict[int, FaceObservation]


class SequenceAnalyser(Generic[Payload]):
    """Push frames in order; get analysed frames back `lag` frames later (and at `finish`)."""

    def __init__(self, model: FaceModel, config: AnalysisConfig | None = None) -> None:
        single_threaded_blas()  # small solves: BLAS threads only spin (analysis/blas.py)
        self.model = model
        self.config = config or AnalysisConfig()
        self.face_analyzer = FaceAnalyzer(self.config.faces)
        self.fitter = LandmarkFitter(model)
        self.lag = self.config.smooth_lag if self.config.smoothing else 0
        self._tracks: dict[int, _Track] = {}
        self._pending: deque[_Pending[Payload]] = deque()
        self._fits = 0
        self._unreliable = 0
        self._residual_sum = 0.0
        self._expression_bounds = (0.0, 1.0)
        self.times = StageTimes(("detect", "fit", "smooth"))
        self.shots = ShotChangeDetector() if self.config.cuts else None

    @property
    def seconds(self) -> dict[str, float]:
        """Seconds spent detecting, fitting and smoothing so far (a copy)."""
        return self.times.seconds

    @property
    def stats(self) -> AnalysisStats:
        return AnalysisStats(
            faces=self.face_analyzer.stats,
            fits=self._fits,
            unreliable_fits=self._unreliable,
            mean_residual=self._residual_sum / max(1, self._fits),
        )

    def observe(self, index: int, rgb: np.ndarray) -> Observed:
        """The faces dlib finds and tracks in frame `index` (rgb: (H, W, 3) uint8).

        Reads no fit, so a thread of its own may run it a few frames ahead of `push`, in frame
        order: detection then overlaps the fits and rendering of earlier frames."""
        started = time.perf_counter()
        cut = self.shots is not None and self.shots.push(rgb)
        if cut:
            self.face_analyzer.cut()
        observations = {o.track_id: o for o in self.face_analyzer.analyze(index, rgb)}
        self.times.add("detect", time.perf_counter() - started)
        return Observed(index, cut, observations)

    def push(
        self, index: int, rgb: np.ndarray, payload: Payload, observed: Observed | None = None
    ) -> list[AnalysedFrame[Payload]]:
        """Analyse frame `index` (rgb: (H, W, 3) uint8), observed here unless `observed` (this
        frame's `observe`) is given; returns the frames now ready."""
        if observed is None:
            observed = self.observe(index, rgb)
        elif observed.index != index:
            raise ValueError(f"observations of frame {observed.index} pushed as frame {index}")
        if observed.cut:
            # A new shot: no fit is smoothed with the last shot's, no track carries over.
            for track_id in list(self._tracks):
                self._end_track(track_id)
        observations = observed.observations
        pending = _Pending(index, payload, observations, {})
        self._pending.append(pending)
        height, width = rgb.shape[:2]
        for track_id, observation in observations.items():
            track = self._tracks.get(track_id)
            if track is None:
                track = self._new_track(index)
                self._tracks[track_id] = track
            started = time.perf_counter()
            fit = self._fit(observation, rgb, (width, height), track)
            pending.fits[track_id] = fit
            fitted = time.perf_counter()
            self._record(track_id, track, index, fit)
            self.times.add("fit", fitted - started)
            self.times.add("smooth", time.perf_counter() - fitted)
        for track_id in [t for t in self._tracks if t not in observations]:
            self._end_track(track_id)
        ready = []
        while self._pending and self._pending[0].index <= index - self.lag:
            ready.append(self._emit(self._pending.popleft()))
        return ready

    def finish(self) -> list[AnalysedFrame[Payload]]:
        """Flush every track and return the frames still held."""
        for track_id in list(self._tracks):
            self._end_track(track_id)
        ready = [self._emit(p) for p in self._pending]
        self._pending.clear()
        return ready

    # -- internals -------------------------------------------------------------------------

    def _new_track(self, index: int) -> _Track:
        identity = TrackIdentity(self.model.num_identity)
        smoother = (
            FitSmoother(lag=self.lag, identity=identity, expression_bounds=self._expression_bounds)
            if self.config.smoothing
            else None
        )
        return _Track(first_frame=index, identity=identity, smoother=smoother)

    def _fit(
        self, observation: FaceObservation, rgb: np.ndarray, size: tuple[int, int], track: _Track
    ) -> FaceFit:
        fit = self.fitter.fit(observation.landmarks68, size, track.previous, track.identity)
        if fit.reliable and fit.residual > self.config.max_residual:
            fit = fit.replace(reliable=False, reason=f"landmark residual {fit.residual:.2f}")
        if fit.reliable and self.config.fit_lighting:
            lighting = fit_lighting_from_image(rgb.astype(np.float32) / 255.0, self.model, fit)
            fit = fit.replace(lighting=lighting)
        if not self.config.smoothing:
            track.identity.update(fit)  # the smoother does this when smoothing
        track.previous = fit
        self._fits += 1
        self._unreliable += not fit.reliable
        self._residual_sum += fit.residual if np.isfinite(fit.residual) else 0.0
        return fit

    def _record(self, track_id: int, track: _Track, index: int, fit: FaceFit) -> None:
        if track.smoother is None:
            track.last_frame = index
            return
        # Frames this track skipped (should not happen with the analyzer) count as missing.
        for _ in range(track.last_frame + 1 if track.last_frame >= 0 else index, index):
            self._store(track_id, track, track.smoother.push(None))
        self._store(track_id, track, track.smoother.push(fit))
        track.last_frame = index

    def _store(self, track_id: int, track: _Track, smoothed: SmoothedFit | None) -> None:
        if smoothed is None:
            return
        frame = track.first_frame + smoothed.frame
        for pending in self._pending:
            if pending.index == frame:
                pending.smoothed[track_id] = smoothed
                return

    def _end_track(self, track_id: int) -> None:
        track = self._tracks.pop(track_id)
        if track.smoother is not None:
            for smoothed in track.smoother.flush():
                self._store(track_id, track, smoothed)

    def _emit(self, pending: _Pending[Payload]) -> AnalysedFrame[Payload]:
        faces = []
        for track_id, observation in pending.observations.items():
            raw = pending.fits[track_id]
            if self.config.smoothing:
                smoothed = pending.smoothed.get(track_id)
                if smoothed is None or smoothed.fit is None:
                    continue  # the track never had a reliable fit: plain path
                fit, confidence = smoothed.fit, smoothed.confidence
            else:
                fit, confidence = raw, 1.0 if raw.reliable else 0.0
            if not fit.reliable:
                confidence = 0.0
            landmarks = self.projected_landmarks(fit)
            if not np.isfinite(landmarks).all():
                continue
            crop_size = observation.alignment.crop_size
            alignment = (
                align_native(landmarks, crop_size)
                if self.config.crop == "native"
                else align(landmarks, crop_size)
            )
            faces.append(FaceState(track_id, observation, fit, confidence, landmarks, alignment))
        return AnalysedFrame(pending.index, pending.payload, tuple(faces))

    def projected_landmarks(self, fit: FaceFit) -> np.ndarray:
        """(68, 2) frame pixels of the fit's landmark vertices (jaw on the fitted contour)."""
        vertex_ids = (
            fit.landmark_vertices if fit.landmark_vertices is not None else self.model.landmarks68
        )
        model = self.model
        vertices = (
            model.mean[vertex_ids]
            + np.tensordot(fit.identity, model.identity_basis[:, vertex_ids], axes=(0, 0))
            + np.tensordot(fit.expression, model.expression_basis[:, vertex_ids], axes=(0, 0))
        )
        return project(camera_vertices(vertices.astype(np.float64), fit.pose), fit.camera).astype(
            np.float32
        )
