"""Scores of one method on one clip, accumulated frame by frame (streaming).

Every output frame is compared with its original inside the reference face regions
(`eval.reference`): PSNR and SSIM on the region's pixels, identity (dlib descriptor of the output,
aligned with the original's landmarks, against the original's descriptor), landmark error (dlib
landmarks found on the output in the original's detection box, against the original's), flicker
(the output's change from the previous frame against the original's, in the current regions) and
jitter (acceleration of the output's landmarks along each reference track). Only the previous
frame pair and small per-frame numbers are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from facesr_video.eval.identity import IdentityEncoder, identity_similarity
from facesr_video.eval.metrics import (
    landmark_error,
    landmark_jitter,
    psnr,
    ssim,
    temporal_flicker_series,
)
from facesr_video.eval.reference import ReferenceFrame, Region
from facesr_video.eval.results import MethodScores
from facesr_video.faces.landmarks import predict_landmarks


@dataclass(frozen=True)
class FaceScore:
    """The figures of one face in one output frame."""

    psnr: float
    ssim: float
    identity: float
    landmark_error: float
    landmarks: np.ndarray  # (68, 2) found on the output


def region_tensor(rgb: np.ndarray, region: Region) -> torch.Tensor:
    """A region of an 8-bit frame as a float image.

    Args:
        rgb: (H, W, 3) uint8.
        region: (left, top, right, bottom), right/bottom exclusive.

    Returns:
        (1, 3, bottom - top, right - left) float32 in [0, 1].
    """
    left, top, right, bottom = region
    crop = np.ascontiguousarray(rgb[top:bottom, left:right])
    return torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


@dataclass
class _Run:
    """One track's current run of consecutive frames, as running sums."""

    index: int  # its last frame
    before: np.ndarray | None = None  # landmarks two frames back
    last: np.ndarray | None = None  # landmarks of the last frame
    frames: int = 0
    jitter_sum: float = 0.0  # landmark_jitter of each 3-frame step (each a mean over points)
    steps: int = 0

    def weighted(self) -> tuple[float, int]:
        """(jitter x frames, frames) of a run of >= 3 frames, else nothing."""
        if self.frames < 3:
            return 0.0, 0
        return self.jitter_sum / self.steps * self.frames, self.frames


class JitterRuns:
    """Landmark jitter (metrics.landmark_jitter) of every track's runs of consecutive frames,
    kept as running sums: memory per track, not per frame, however long the clip."""

    def __init__(self) -> None:
        self._runs: dict[int, _Run] = {}
        self._total, self._weight = 0.0, 0

    def add(self, track: int, index: int, points: np.ndarray) -> None:
        """The track's landmarks (68, 2) in frame `index` (frames of a track come in order)."""
        run = self._runs.get(track)
        if run is None or index != run.index + 1:
            if run is not None:
                self._close(run)
            run = self._runs[track] = _Run(index)
        if run.before is not None and run.last is not None:
            step = np.stack([run.before, run.last, points])
            run.jitter_sum += landmark_jitter(torch.from_numpy(step))
            run.steps += 1
        run.index, run.before, run.last = index, run.last, points
        run.frames += 1

    def value(self) -> float:
        """Frame-weighted mean over the runs of >= 3 frames (NaN without any)."""
        open_runs = [run.weighted() for run in self._runs.values()]
        total = self._total + sum(t for t, _ in open_runs)
        weight = self._weight + sum(w for _, w in open_runs)
        return total / weight if weight else math.nan

    def _close(self, run: _Run) -> None:
        total, weight = run.weighted()
        self._total += total
        self._weight += weight


class MethodScorer:
    """Accumulates one method's scores over one clip's frames, given in order."""

    def __init__(self, method: str, encoder: IdentityEncoder) -> None:
        self.method = method
        self.encoder = encoder
        # Per face and frame, only the figures averaged at the end (landmarks go to jitter).
        self.ssim: list[float] = []
        self.identity: list[float] = []
        self.landmark_error: list[float] = []
        self.psnr_series: list[float] = []
        self.flicker_series: list[float] = []
        self._jitter = JitterRuns()
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def score_face(
        self, output: np.ndarray, original: np.ndarray, reference: ReferenceFrame, face: int
    ) -> FaceScore:
        """Figures of one reference face in one output frame ((H, W, 3) uint8 both)."""
        ref = reference.faces[face]
        out_crop, ref_crop = region_tensor(output, ref.region), region_tensor(original, ref.region)
        points = predict_landmarks(np.ascontiguousarray(output), ref.box)
        descriptor = self.encoder.describe(np.ascontiguousarray(output), landmarks=ref.landmarks)
        error = landmark_error(
            torch.from_numpy(points)[None], torch.from_numpy(ref.landmarks)[None]
        )
        return FaceScore(
            psnr=float(psnr(out_crop, ref_crop)[0]),
            ssim=float(ssim(out_crop, ref_crop)[0]),
            identity=float(identity_similarity(descriptor, ref.descriptor)),
            landmark_error=float(error[0]),
            landmarks=points,
        )

    def add(self, output: np.ndarray, original: np.ndarray, reference: ReferenceFrame) -> None:
        """Score the next frame.

        Args:
            output: (H, W, 3) uint8, the method's frame.
            original: (H, W, 3) uint8, the original frame at the same size.
            reference: its reference faces (frame ``len(self.psnr_series)``).
        """
        if output.shape != original.shape:
            raise ValueError(f"output {output.shape} and original {original.shape} differ")
        scores = [
            self.score_face(output, original, reference, i) for i in range(len(reference.faces))
        ]
        self.ssim += [s.ssim for s in scores]
        self.identity += [s.identity for s in scores]
        self.landmark_error += [s.landmark_error for s in scores]
        self.psnr_series.append(_mean([s.psnr for s in scores]))
        for face, score in zip(reference.faces, scores, strict=True):
            self._jitter.add(face.track, reference.index, score.landmarks)
        if self._previous is not None:
            self.flicker_series.append(self._flicker(output, original, reference))
        self._previous = (output, original)

    def _flicker(
        self, output: np.ndarray, original: np.ndarray, reference: ReferenceFrame
    ) -> float:
        """Flicker of the transition into this frame over its face regions (pixel-weighted)."""
        assert self._previous is not None
        before_out, before_orig = self._previous
        total, weight = 0.0, 0
        for face in reference.faces:
            outputs = torch.cat(
                [region_tensor(before_out, face.region), region_tensor(output, face.region)]
            )
            originals = torch.cat(
                [region_tensor(before_orig, face.region), region_tensor(original, face.region)]
            )
            pixels = outputs.shape[-1] * outputs.shape[-2]
            total += float(temporal_flicker_series(outputs, originals)[0]) * pixels
            weight += pixels
        return total / weight if weight else math.nan

    def jitter(self) -> float:
        """Frame-weighted mean landmark jitter over runs of >= 3 consecutive frames of a track."""
        return self._jitter.value()

    def result(self, seconds: float, frames: int, series: bool = True) -> MethodScores:
        """The clip's figures; ``series=False`` leaves out the per-frame series (still images)."""
        return MethodScores(
            method=self.method,
            psnr=_mean(self.psnr_series),
            ssim=_mean(self.ssim),
            identity=_mean(self.identity),
            landmark_error=_mean(self.landmark_error),
            flicker=_mean(self.flicker_series),
            jitter=self.jitter(),
            fps=frames / seconds if seconds > 0 else math.nan,
            psnr_per_frame=tuple(self.psnr_series) if series else (),
            flicker_per_frame=tuple(self.flicker_series) if series else (),
        )
