"""What face tracking reports: one tracked face in one frame, in low-resolution frame pixels.

Made by `analysis.face_tracks.FaceAnalyzer`; read by the sequence analysis and the overlays
(faces/overlay.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesr_video.faces.align import Alignment
from facesr_video.faces.detect import Box


@dataclass(frozen=True, eq=False)
class FaceObservation:
    """One tracked face in one frame."""

    track_id: int
    frame_index: int
    box: Box  # bounding box of the landmarks, frame pixels (x0, y0, x1, y1)
    landmarks68: np.ndarray  # (68, 2) float32, frame pixels, dlib iBUG-68 order
    detected: bool  # True: matched to a fresh detection; False: found from the prediction
    score: float  # detector score of the track's latest matched detection
    misses: int  # detection passes since that detection (0 when detected)
    alignment: Alignment  # crop_from_frame at the track's (stable) native crop size

    @property
    def quality(self) -> float:
        """1 for a fresh detection, decaying while the face is only predicted."""
        return 1.0 if self.detected else 0.5 ** (1 + self.misses)
