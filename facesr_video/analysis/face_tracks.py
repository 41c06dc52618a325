"""Streaming face analysis of low-resolution frames: detect, landmark, track, align.

`FaceAnalyzer.analyze(frame_index, rgb)` is called once per frame, in order, and returns one
`FaceObservation` per confirmed track visible in that frame. Tracks follow the landmarks' bounding
box; on frames without a detection pass (see `detect_every`) or where the detector misses a face
(profile, blur), the track's predicted box seeds the landmark predictor and the box is re-derived
from the landmarks found. A track missed by `max_misses` detection passes in a row is let go.

A detection pass does not scan the whole frame at the enlargement the smallest face needs (on a
320x180 frame that is a 1600x900 HOG scan, ~130 ms). Instead (faces/search.py): every tracked
face is looked for in a window around its predicted box, enlarged only as much as its size needs and
with a lower score threshold (a face is expected there, so a weak one is not lost every other
pass); a cheap whole-frame pass at about 1x finds big new faces at once; and the full small-face
scan runs on the first frame and then every few frames (`scan_every`; by default as often as a
budget of `scan_pixels` scanned pixels per frame allows, at most `max_scan_every` frames apart: on
320x180 every 23 frames, on 160x90 every 6), and on the first frame after every shot cut, where
new faces appear most. A small face that walks into a shot is found within that many frames
(about a second); bigger ones by the next cheap pass. Faces just under `min_face` are counted on
the full scans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from facesr_video.errors import InputError
from facesr_video.faces.align import align, native_size, nearest_crop_size
from facesr_video.faces.detect import Detection, FaceDetector, box_size
from facesr_video.faces.landmarks import (
    WORK_SIZE,
    landmark_box,
    predict_landmarks,
    predictor_box,
)
from facesr_video.faces.observation import FaceObservation
from facesr_video.faces.search import merge_detections, search_window
from facesr_video.faces.track import Tracker, TrackerConfig

FACE_CHOICES = ("all", "largest")


@dataclass(frozen=True)
class AnalyzerConfig:
    """Options of the face analysis (sizes in low-resolution frame pixels)."""

    detector: str = "hog"  # "hog" or "cnn"
    detect_every: int = 1  # run the detector on every n-th frame; track in between
    min_face: float = 20.0  # faces whose detector box is narrower are skipped (and counted)
    faces: str = "all"  # "all" or "largest" (one face per frame)
    landmark_work_size: float = WORK_SIZE  # enlarge small faces to this for the predictor
    crop_hysteresis: float = 1.15  # a track changes crop size only past this ratio
    scan_every: int | None = None  # frames between full small-face scans (1: every pass)...
    scan_pixels: int = 62_500  # ...None: as often as keeps their cost to this many px/frame
    max_scan_every: int = 24  # ...but at least every this many frames (and after every cut)
    wide_pixels: int = 120_000  # pixel budget of the cheap whole-frame pass (0: none)
    search_face: float = 110.0  # a tracked face is searched for enlarged to about this (px)
    search_margin: float = 1.0  # search window around the predicted box, in box sizes
    search_threshold: float = -0.3  # detector score threshold in a confirmed track's window
    birth_threshold: float = -0.15  # ...and in a tentative track's (a new face's second hit)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise InputError(f"detect_every must be at least 1, got {self.detect_every}")
        if self.faces not in FACE_CHOICES:
            raise InputError(f"unknown faces option {self.faces!r}", "use 'all' or 'largest'")
        if self.min_face <= 0:
            raise InputError(f"min_face must be positive, got {self.min_face}")
        if self.scan_every is not None and self.scan_every < 1:
            raise InputError(f"scan_every must be at least 1, got {self.scan_every}")


@dataclass(frozen=True)
class AnalyzerStats:
    """Counts for the end-of-run summary."""

    frames: int
    frames_with_faces: int
    detections: int  # faces found by the detector (at least min_face)
    observations: int  # FaceObservations returned
    tracks: int  # confirmed tracks
    skipped_small: int  # detections narrower than min_face (counted on full scans)
    full_scans: int = 0  # detection passes that scanned the whole frame for small faces


class FaceAnalyzer:
    """Detects, tracks and aligns every face of a stream of frames."""

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        # Look a little below min_face so faces just too small are seen, skipped and counted.
        self.detector = FaceDetector(self.config.detector, min_face=0.8 * self.config.min_face)
        self.tracker = Tracker(self.config.tracker)
        self._frames = 0
        self._frames_with_faces = 0
        self._detections = 0
        self._observations = 0
        self._skipped_small = 0
        self._full_scans = 0
        self._last_scan: int | None = None  # stream position of the latest full scan
        self._crop_sizes: dict[int, int] = {}
        self._scores: dict[int, float] = {}
        self._detect_next = False

    def cut(self) -> None:
        """A new shot starts with the next frame: end every track and scan that whole frame."""
        self.tracker.cut()
        self._detect_next = True
        self._last_scan = None

    @property
    def stats(self) -> AnalyzerStats:
        return AnalyzerStats(
            frames=self._frames,
            frames_with_faces=self._frames_with_faces,
            detections=self._detections,
            observations=self._observations,
            tracks=self.tracker.tracks_started,
            skipped_small=self._skipped_small,
            full_scans=self._full_scans,
        )

    def smallest_face(self, height: int, width: int) -> float:
        """Smallest face (detector box width, px) this analyzer finds on such frames."""
        return max(self.config.min_face, self.detector.smallest_face(height, width))

    def analyze(self, frame_index: int, rgb: np.ndarray) -> list[FaceObservation]:
        """Faces of the next frame of the stream.

        Args:
            frame_index: the frame's index in the video (recorded in the observations).
            rgb: (H, W, 3) uint8 RGB frame.

        Returns:
            one observation per confirmed track in view, by track id.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
        position = self._frames
        detect = self._detect_next or position % self.config.detect_every == 0
        self._detect_next = False
        self._frames += 1
        found: dict[int, tuple[np.ndarray, float]] = {}  # detection index -> landmarks, score
        if detect:
            detections = [d for d in self._detect(position, rgb) if d.width >= self.config.min_face]
            self._detections += len(detections)
            boxes = []
            for i, det in enumerate(detections):
                lm = predict_landmarks(rgb, det.box, self.config.landmark_work_size)
                found[i] = (lm, det.score)
                boxes.append(landmark_box(lm))
            tracked = self.tracker.step(boxes)
        else:
            tracked = self.tracker.predict()

        height, width = rgb.shape[:2]
        observations = []
        for track in tracked:
            if track.detection is not None:
                landmarks, score = found[track.detection]
                self._scores[track.track_id] = score
            else:
                cx, cy = (track.box[0] + track.box[2]) / 2, (track.box[1] + track.box[3]) / 2
                if not (0 <= cx < width and 0 <= cy < height):
                    continue  # predicted out of the frame: nothing to look at
                landmarks = predict_landmarks(
                    rgb, predictor_box(track.box), self.config.landmark_work_size
                )
                self.tracker.correct(track.track_id, landmark_box(landmarks))
            observations.append(
                FaceObservation(
                    track_id=track.track_id,
                    frame_index=frame_index,
                    box=landmark_box(landmarks),
                    landmarks68=landmarks,
                    detected=track.detection is not None,
                    score=self._scores.get(track.track_id, 0.0),
                    misses=track.misses,
                    alignment=align(landmarks, self._crop_size(track.track_id, landmarks)),
                )
            )
        if self.config.faces == "largest" and observations:
            observations = [max(observations, key=lambda o: box_size(o.box))]
        observations.sort(key=lambda o: o.track_id)
        self._forget_dead_tracks()
        self._observations += len(observations)
        self._frames_with_faces += bool(observations)
        return observations

    def scan_period(self, height: int, width: int) -> int:
        """Frames between full small-face scans on (height, width) frames."""
        if self.config.scan_every is not None:
            return self.config.scan_every
        area = height * width * self.detector.upsample_for(height, width) ** 2
        period = round(area / max(self.config.scan_pixels, 1))
        return max(1, min(self.config.max_scan_every, period))

    def _detect(self, position: int, rgb: np.ndarray) -> list[Detection]:
        """One detection pass: a full scan when due, else tracked windows plus a cheap pass."""
        height, width = rgb.shape[:2]
        if self._last_scan is None or position - self._last_scan >= self.scan_period(height, width):
            self._last_scan = position
            self._full_scans += 1
            detections = self.detector(rgb)
            self._skipped_small += sum(d.width < self.config.min_face for d in detections)
            return detections
        full_scale = self.detector.upsample_for(height, width)
        found: list[Detection] = []
        if self.config.wide_pixels > 0:
            # At most 1x: bigger faces only (>= 80 px); tracked ones are found in their windows.
            wide = min(1.0, math.sqrt(self.config.wide_pixels / (height * width)))
            found += self.detector.detect(rgb, wide)
        for _, box, confirmed in self.tracker.predicted_boxes():
            window, scale = search_window(
                predictor_box(box),
                (height, width),
                self.config.search_margin,
                self.config.search_face,
                full_scale,
            )
            if window is not None:
                config = self.config
                threshold = config.search_threshold if confirmed else config.birth_threshold
                found += self.detector.detect(rgb, scale, window, threshold)
        return merge_detections(found)

    def _crop_size(self, track_id: int, landmarks: np.ndarray) -> int:
        """The track's crop side: the nearest bucket, changed only past the hysteresis ratio."""
        size = native_size(landmarks)
        best = nearest_crop_size(size)
        current = self._crop_sizes.get(track_id)
        if current is None or (
            best != current
            and abs(math.log(size / current)) - abs(math.log(size / best))
            > math.log(self.config.crop_hysteresis)
        ):
            current = best
        self._crop_sizes[track_id] = current
        return current

    def _forget_dead_tracks(self) -> None:
        alive = set(self.tracker.active_ids)
        for table in (self._crop_sizes, self._scores):
            for track_id in [t for t in table if t not in alive]:
                del table[track_id]
