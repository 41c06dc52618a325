"""Multi-face tracking: Hungarian assignment of boxes to tracks, a Kalman filter per track.

Each track filters its box as centre and size with constant velocity (filterpy). A detection pass
(`step`) predicts every track, assigns detections by 1 - IoU with a centre-distance fallback (small
fast faces may not overlap their prediction at all), updates matched tracks, starts tentative tracks
from the rest and drops tracks missed too often. A track is confirmed after `min_hits` matched
passes (or at once in the stream's first pass, so a face present from frame 0 is not lost; such a
track dies at its first miss until it has `min_hits`, so a false detection on frame 0 does not live
on as a predicted phantom) and keeps its integer id for life. A track confirmed later next to one
lost a few passes ago with the same size takes over the lost one's id: a face missed for longer
than `max_misses` (occlusion, a turn of the head) keeps its id instead of splitting in two. Frames
without a detection pass use `predict` and may feed back a box measured otherwise (`correct`, e.g.
from landmarks found in the predicted box).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

from facesr_video.faces.detect import Box


@dataclass(frozen=True)
class TrackerConfig:
    """Association gates and track life-cycle."""

    min_iou: float = 0.2  # a match needs this overlap with the prediction...
    max_centre_distance: float = 0.6  # ...or centres this close (in box sizes)
    min_hits: int = 2  # matched detection passes before a track is confirmed
    max_misses: int = 5  # detection passes without a match before a track dies
    position_noise: float = 0.05  # measurement std, fraction of the box size
    velocity_noise: float = 0.05  # process std of velocity change per frame, fraction of size
    reassociate_passes: int = 15  # a new track may take the id of one let go this many passes ago
    reassociate_distance: float = 1.0  # ...if its centre is this close (in box sizes)
    reassociate_size: float = 1.35  # ...and its size within this ratio


@dataclass(frozen=True)
class TrackedBox:
    """A confirmed track's state after a frame."""

    track_id: int
    box: Box  # filtered box, frame pixels
    detection: int | None  # index of the detection matched this frame; None if predicted
    hits: int  # matched detection passes so far
    misses: int  # detection passes since the last match


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union.

    Args:
        a: (N, 4) boxes (x0, y0, x1, y1).
        b: (M, 4) boxes.

    Returns:
        (N, M) IoU in [0, 1].
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _to_z(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dtype=np.float64)


def _to_box(z: np.ndarray) -> Box:
    cx, cy, w, h = (float(v) for v in z[:4])
    w, h = max(w, 1.0), max(h, 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class _Track:
    """One face's Kalman filter over (cx, cy, w, h, vx, vy, vw, vh)."""

    def __init__(self, track_id: int, box: Box, config: TrackerConfig) -> None:
        self.track_id = track_id
        self.config = config
        self.hits = 1
        self.misses = 0
        self.confirmed = False
        self.provisional = False  # confirmed on the first pass, before min_hits
        self.last_detection: int | None = None
        self.last_box = box  # box of the latest matched detection
        self.last_pass = 0  # detection pass of that match
        self.lost_pass = 0  # detection pass that let the track go
        kf = KalmanFilter(dim_x=8, dim_z=4)
        kf.F = np.eye(8)
        kf.F[:4, 4:] = np.eye(4)
        kf.H = np.eye(4, 8)
        z = _to_z(box)
        size = math.sqrt(z[2] * z[3])
        kf.x = np.concatenate([z, np.zeros(4)])[:, None]
        kf.P = np.diag([(0.1 * size) ** 2] * 4 + [(0.5 * size) ** 2] * 4)
        self.kf = kf
        self._set_noise(size)

    def _set_noise(self, size: float) -> None:
        pos = (self.config.position_noise * size) ** 2
        vel = (self.config.velocity_noise * size) ** 2
        self.kf.R = np.eye(4) * pos
        q = np.zeros((8, 8))
        q[:4, :4] = np.eye(4) * vel / 4  # velocity change over one frame moves the box too
        q[4:, 4:] = np.eye(4) * vel
        q[:4, 4:] = q[4:, :4] = np.eye(4) * vel / 2
        self.kf.Q = q

    @property
    def size(self) -> float:
        return math.sqrt(max(float(self.kf.x[2, 0]), 1.0) * max(float(self.kf.x[3, 0]), 1.0))

    @property
    def box(self) -> Box:
        return _to_box(self.kf.x[:, 0])

    def predicted_box(self) -> Box:
        """Where `predict` will put the box (the state is not changed)."""
        return _to_box(self.kf.F @ self.kf.x[:, 0])

    def predict(self) -> None:
        self._set_noise(self.size)
        self.kf.predict()
        self.kf.x[2, 0] = max(self.kf.x[2, 0], 1.0)
        self.kf.x[3, 0] = max(self.kf.x[3, 0], 1.0)

    def update(self, box: Box, noise_scale: float = 1.0) -> None:
        r = self.kf.R.copy()
        self.kf.update(_to_z(box)[:, None], R=r * noise_scale**2)


class Tracker:
    """Tracks boxes over frames; call `step` on detection frames and `predict` on the others."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._passes = 0
        self.tracks_started = 0  # confirmed tracks so far (distinct ids)
        self.reassociated = 0  # tracks that took over the id of a recently lost one
        self._lost: list[_Track] = []  # confirmed tracks let go recently, newest last

    def cut(self) -> None:
        """A new shot: every track ends, none may be taken up again; ids keep counting."""
        self._tracks = []
        self._lost = []

    def _cost(self, boxes: np.ndarray) -> np.ndarray:
        """(T, D) assignment cost; entries >= 1 are not allowed to match."""
        predicted = np.array([t.box for t in self._tracks]).reshape(-1, 4)
        iou = iou_matrix(predicted, boxes)
        pc = (predicted[:, None, :2] + predicted[:, None, 2:]) / 2
        dc = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2
        sizes = np.sqrt(np.prod(predicted[:, 2:] - predicted[:, :2], axis=1))[:, None]
        dist = np.linalg.norm(pc - dc, axis=2) / np.maximum(sizes, 1.0)
        cost = 1.0 - iou + 0.1 * np.minimum(dist, 1.0)
        allowed = (iou >= self.config.min_iou) | (dist <= self.config.max_centre_distance)
        return np.where(allowed, np.minimum(cost, 0.999), 1e3)

    def step(self, boxes: Sequence[Box]) -> list[TrackedBox]:
        """A frame with a detection pass: predict, assign, update, birth and death.

        Args:
            boxes: detected boxes of this frame (frame pixels).

        Returns:
            the confirmed tracks after this frame, matched or predicted.
        """
        self._passes += 1
        det = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        for track in self._tracks:
            track.predict()
            track.last_detection = None
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if self._tracks and len(det):
            cost = self._cost(det)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < 1.0:
                    track = self._tracks[r]
                    track.update(tuple(det[c]))
                    track.hits += 1
                    track.misses = 0
                    track.last_detection = int(c)
                    track.last_box = tuple(float(v) for v in det[c])
                    track.last_pass = self._passes
                    matched_tracks.add(r)
                    matched_dets.add(int(c))
        for i, track in enumerate(self._tracks):
            if i not in matched_tracks:
                track.misses += 1
        alive = []
        for t in self._tracks:
            if t.misses == 0 or (
                t.confirmed and not t.provisional and t.misses <= self.config.max_misses
            ):
                alive.append(t)
            elif t.confirmed:
                t.lost_pass = self._passes
                self._lost.append(t)
        self._tracks = alive
        horizon = self._passes - self.config.reassociate_passes
        self._lost = [t for t in self._lost if t.lost_pass > horizon]
        for c in range(len(det)):
            if c not in matched_dets:
                track = _Track(self._next_id, tuple(float(v) for v in det[c]), self.config)
                track.last_detection = c
                track.last_pass = self._passes
                self._next_id += 1
                self._tracks.append(track)
        for track in self._tracks:
            if track.hits >= self.config.min_hits:
                track.provisional = False
            if not track.confirmed and (track.hits >= self.config.min_hits or self._passes <= 1):
                track.confirmed = True
                track.provisional = track.hits < self.config.min_hits
                lost = self._lost_match(track)
                if lost is None:
                    self.tracks_started += 1
                else:
                    self._lost.remove(lost)
                    track.track_id = lost.track_id
                    self.reassociated += 1
        return self._confirmed()

    def _lost_match(self, track: _Track) -> _Track | None:
        """The recently lost track a newly confirmed one continues: near, same size, or None."""
        best, best_dist = None, math.inf
        z = _to_z(track.box)
        size = math.sqrt(z[2] * z[3])
        alive = {t.track_id for t in self._tracks if t.confirmed}
        for lost in self._lost:
            if lost.track_id in alive:
                continue
            zl = _to_z(lost.last_box)  # where it was last seen...
            zp = _to_z(lost.box)  # ...and where its motion was taking it
            lost_size = math.sqrt(zl[2] * zl[3])
            ratio = max(size, lost_size) / max(min(size, lost_size), 1e-6)
            dist = min(math.hypot(*(z[:2] - zl[:2])), math.hypot(*(z[:2] - zp[:2])))
            dist /= max(lost_size, 1.0)
            if (
                ratio <= self.config.reassociate_size
                and dist <= self.config.reassociate_distance
                and dist < best_dist
            ):
                best, best_dist = lost, dist
        return best

    def predicted_boxes(self) -> list[tuple[int, Box, bool]]:
        """(track id, box the next pass will predict, confirmed) of every live track.

        Tells a detector where to look before the pass; tentative tracks are included so that
        a new face can collect its second hit.
        """
        return [(t.track_id, t.predicted_box(), t.confirmed) for t in self._tracks]

    def predict(self) -> list[TrackedBox]:
        """A frame without a detection pass: every track moves by its filter's prediction."""
        for track in self._tracks:
            track.predict()
            track.last_detection = None
        return self._confirmed()

    def correct(self, track_id: int, box: Box, noise_scale: float = 2.0) -> TrackedBox | None:
        """Update a track with a box measured without the detector (less trusted: noise_scale)."""
        for track in self._tracks:
            if track.track_id == track_id:
                track.update(box, noise_scale)
                return self._record(track)
        return None

    def _record(self, track: _Track) -> TrackedBox:
        return TrackedBox(
            track_id=track.track_id,
            box=track.box,
            detection=track.last_detection,
            hits=track.hits,
            misses=track.misses,
        )

    def _confirmed(self) -> list[TrackedBox]:
        return [self._record(t) for t in self._tracks if t.confirmed]

    @property
    def active_ids(self) -> list[int]:
        """Ids of the confirmed tracks alive now."""
        return [t.track_id for t in self._tracks if t.confirmed]
