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
from facesr_video.eval.reference import ReferenceFrame, Region
from facesr_video.eval.results import MethodScores
from facesr_video.faces.landmarks import predict_landmarks
from facesr_video.metrics import (
    landmark_error,
    landmark_jitter,
    psnr,
    ssim,
    temporal_flicker_series,
)


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


class MethodScorer:
    """Accumulates one method's scores over one clip's frames, given in order."""

    def __init__(self, method: str, encoder: IdentityEncoder) -> None:
        self.method = method
        self.encoder = encoder
        self.faces: list[FaceScore] = []
        self.psnr_series: list[float] = []
        self.flicker_series: list[float] = []
        self._tracks: dict[int, list[tuple[int, np.ndarray]]] = {}
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
        self.faces.extend(scores)
        self.psnr_series.append(_mean([s.psnr for s in scores]))
        for face, score in zip(reference.faces, scores, strict=True):
            self._tracks.setdefault(face.track, []).append((reference.index, score.landmarks))
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
        total, weight = 0.0, 0
        for entries in self._tracks.values():
            run: list[np.ndarray] = []
            last = None
            for index, points in [*entries, (None, None)]:
                if index is None or (last is not None and index != last + 1):
                    if len(run) >= 3:
                        total += landmark_jitter(torch.from_numpy(np.stack(run))) * len(run)
                        weight += len(run)
                    run = []
                if points is not None:
                    run.append(points)
                last = index
        return total / weight if weight else math.nan

    def result(self, seconds: float, frames: int, series: bool = True) -> MethodScores:
        """The clip's figures; ``series=False`` leaves out the per-frame series (still images)."""
        return MethodScores(
            method=self.method,
            psnr=_mean(self.psnr_series),
            ssim=_mean([s.ssim for s in self.faces]),
            identity=_mean([s.identity for s in self.faces]),
            landmark_error=_mean([s.landmark_error for s in self.faces]),
            flicker=_mean(self.flicker_series),
            jitter=self.jitter(),
            fps=frames / seconds if seconds > 0 else math.nan,
            psnr_per_frame=tuple(self.psnr_series) if series else (),
            flicker_per_frame=tuple(self.flicker_series) if series else (),
        )
