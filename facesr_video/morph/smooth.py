"""Per-track temporal smoothing of fits: constant-velocity Kalman + fixed-lag smoother (filterpy).

Streaming: `push` one frame's fit (or None when the face has no landmarks in that frame) and get
back the smoothed fit of the frame `lag` frames earlier, or None while the buffer fills; `flush`
returns the rest at the end of the track. Pose, expression and lighting are separate Kalman
channels (independent per coefficient, so the matrices stay small); identity is the track's
running estimate (TrackIdentity), not a per-frame value. Unreliable fits and missing frames are
not observations: the filter predicts through them and its covariance grows, which is what the
per-frame `confidence` in [0, 1] reports (1 while observed, falling during a gap), so later
stages can fade the face out instead of dropping it.

filterpy's FixedLagSmoother keeps every smoothed state in a list; it is given a window that
forgets states older than the lag, so memory does not grow with the video.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from filterpy.kalman import FixedLagSmoother

from facesr_video.morph.fit import FaceFit, TrackIdentity

MISSING_VARIANCE = 1e10


@dataclass(frozen=True)
class SmoothingNoise:
    """Standard deviations per frame: measurement noise and process acceleration per channel.

    Rotation in radians, translation in model units (x, y, z), expression and lighting in weights.
    """

    rotation: float = 0.03
    rotation_accel: float = 0.006
    translation_xy: float = 0.3
    translation_z: float = 2.0
    translation_accel: float = 0.1
    expression: float = 0.1
    expression_accel: float = 0.03
    lighting: float = 0.05
    lighting_accel: float = 0.005


@dataclass(frozen=True)
class SmoothedFit:
    """The smoothed fit of frame `frame` (counted from the first push) and its confidence."""

    frame: int
    fit: FaceFit | None  # None before the track's first reliable fit
    confidence: float  # [0, 1]: 1 when well observed, toward 0 deep in a gap
    observed: bool  # a reliable fit was pushed for this frame


class _Window:
    """Stands in for FixedLagSmoother.xSmooth: indexed by step, keeps only the last `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[int, np.ndarray] = {}
        self.count = 0

    def append(self, x: np.ndarray) -> None:
        self.items[self.count] = x
        self.items.pop(self.count - self.size, None)
        self.count += 1

    def __getitem__(self, step: int) -> np.ndarray:
        return self.items[step]

    def __setitem__(self, step: int, x: np.ndarray) -> None:
        self.items[step] = x


class _Channel:
    """Constant-velocity Kalman over D independent coefficients, fixed-lag smoothed."""

    def __init__(self, first: np.ndarray, measure_std: np.ndarray, accel_std: np.ndarray, lag: int):
        d = len(first)
        self.dim = d
        self.smoother = FixedLagSmoother(dim_x=2 * d, dim_z=d, N=max(lag, 1))
        eye = np.eye(d)
        self.smoother.F = np.block([[eye, eye], [np.zeros((d, d)), eye]])
        self.smoother.H = np.hstack([eye, np.zeros((d, d))])
        q = accel_std**2
        self.smoother.Q = np.block([[np.diag(q / 4), np.diag(q / 2)], [np.diag(q / 2), np.diag(q)]])
        self.r = np.diag(measure_std**2)
        self.smoother.R = self.r.copy()
        self.smoother.x = np.concatenate([first, np.zeros(d)])[:, None]
        self.smoother.P = np.diag(np.concatenate([measure_std**2, 100 * q + measure_std**2]))
        self.smoother.xSmooth = _Window(lag + 2)
        self.variances = _Window(lag + 2)

    def push(self, z: np.ndarray | None) -> int:
        """Feed one frame (None = missing); returns its step number."""
        step = self.smoother.count
        if z is None:
            self.smoother.R = np.eye(self.dim) * MISSING_VARIANCE
            z = (self.smoother.H @ self.smoother.F @ self.smoother.x)[:, 0]
        else:
            self.smoother.R = self.r
        self.smoother.smooth(z[:, None])
        self.variances.append(np.diag(self.smoother.P)[: self.dim].copy())
        return step

    def state(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed position (D,) and its filtered variance (D,) at step."""
        return self.smoother.xSmooth[step][: self.dim, 0].copy(), self.variances[step]


@dataclass
class _Pending:
    frame: int
    template: FaceFit | None
    step: int | None
    observed: bool


class FitSmoother:
    """Fixed-lag smoothing of one track's fits; `lag` frames of delay (0 = filter only)."""

    def __init__(
        self,
        lag: int = 5,
        identity: TrackIdentity | None = None,
        noise: SmoothingNoise | None = None,
        expression_bounds: tuple[float, float] | None = (0.0, 1.0),
        min_confidence: float = 0.3,
    ) -> None:
        self.lag = max(int(lag), 0)
        self.identity = identity
        self.noise = noise or SmoothingNoise()
        self.expression_bounds = expression_bounds
        self.min_confidence = min_confidence
        self._pending: deque[_Pending] = deque()
        self._frames = 0
        self._template: FaceFit | None = None
        self._pose: _Channel | None = None
        self._expression: _Channel | None = None
        self._lighting: _Channel | None = None

    def _start(self, fit: FaceFit) -> None:
        n, lag = self.noise, self.lag
        self._pose = _Channel(
            self._pose_vector(fit),
            np.array([n.rotation] * 3 + [n.translation_xy] * 2 + [n.translation_z]),
            np.array([n.rotation_accel] * 3 + [n.translation_accel] * 3),
            lag,
        )
        e = len(fit.expression)
        self._expression = _Channel(
            fit.expression.astype(np.float64),
            np.full(e, n.expression),
            np.full(e, n.expression_accel),
            lag,
        )
        if fit.lighting is not None:
            self._lighting = _Channel(
                fit.lighting.reshape(-1).astype(np.float64),
                np.full(27, n.lighting),
                np.full(27, n.lighting_accel),
                lag,
            )

    @staticmethod
    def _pose_vector(fit: FaceFit) -> np.ndarray:
        return np.concatenate([fit.rotation, fit.translation]).astype(np.float64)

    def push(self, fit: FaceFit | None) -> SmoothedFit | None:
        """Add the next frame's fit (None: no face this frame); returns frame - lag when ready."""
        observed = fit is not None and fit.reliable
        if fit is not None:
            self._template = fit if (observed or self._template is None) else self._template
        step = None
        if observed and self._pose is None:
            self._start(fit)
        if self._pose is not None:
            step = self._pose.push(self._pose_vector(fit) if observed else None)
            self._expression.push(fit.expression.astype(np.float64) if observed else None)
            if self._lighting is not None:
                light = fit.lighting if observed else None
                self._lighting.push(None if light is None else light.reshape(-1).astype(np.float64))
        if observed and self.identity is not None:
            self.identity.update(fit)
        self._pending.append(_Pending(self._frames, self._template, step, observed))
        self._frames += 1
        if len(self._pending) > self.lag:
            return self._emit(self._pending.popleft())
        return None

    def flush(self) -> list[SmoothedFit]:
        """The remaining frames at the end of the track, oldest first."""
        out = [self._emit(p) for p in self._pending]
        self._pending.clear()
        return out

    def _emit(self, pending: _Pending) -> SmoothedFit:
        if pending.step is None or pending.template is None or self._pose is None:
            return SmoothedFit(pending.frame, pending.template, 0.0, pending.observed)
        pose, variance = self._pose.state(pending.step)
        r = self._pose.r.diagonal()
        confidence = float(np.clip(np.min(np.sqrt(r / np.maximum(variance, 1e-12))), 0.0, 1.0))
        expression, _ = self._expression.state(pending.step)
        if self.expression_bounds is not None:
            expression = np.clip(expression, *self.expression_bounds)
        lighting = pending.template.lighting
        if self._lighting is not None:
            lighting = self._lighting.state(pending.step)[0].reshape(9, 3).astype(np.float32)
        identity = pending.template.identity
        if self.identity is not None:
            identity = self.identity.mean.astype(np.float32)
        fit = pending.template.replace(
            rotation=pose[:3],
            translation=pose[3:],
            expression=expression.astype(np.float32),
            lighting=lighting,
            identity=identity,
            reliable=confidence >= self.min_confidence,
            reason="" if confidence >= self.min_confidence else "low smoothing confidence",
        )
        return SmoothedFit(pending.frame, fit, confidence, pending.observed)
