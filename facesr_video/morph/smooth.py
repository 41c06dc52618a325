"""Per-track temporal smoothing of fits: constant-velocity Kalman + fixed-lag smoother (filterpy).

Streaming: `push` one frame's fit (or None when the face has no landmarks in that frame) and get
back the smoothed fit of the frame `lag` frames earlier, or None while the buffer fills; `flush`
returns the rest at the end of the track. Pose, expression and lighting are separate Kalman
channels (independent per coefficient, so the matrices stay small); identity is the track's
running estimate (TrackIdentity), not a per-frame value. Unreliable fits and missing frames are
not observations: the filter predicts through them and its covariance grows, which is what the
per-frame `confidence` in [0, 1] reports (1 while observed, falling during a gap), so later
stages can fade the face out instead of dropping it.

filterpy's FixedLagSmoother is used with two changes (subclass below): its `smooth` starts the
backward gains from the posterior covariance of the new step instead of the prior, which leaves
the newest estimates almost unfiltered-by-measurement (a fast-moving face lags visibly), and it
keeps every smoothed state in a list; here the gains start from the prior (Simon, Optimal State
Estimation, 9.3) and states older than the lag are forgotten, so memory stays bounded.
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

    Measurement noise was estimated from raw fits on real clips (second differences of the
    coefficients); accelerations were tuned on tests/benchmarks/bench_fit.py.

    Rotation in radians; translation as the image-plane direction (x/z, y/z) and log depth
    (log z), because the fit determines where the face projects far better than how far away it
    is, and smoothing x, y, z separately would break that coupling; expression and lighting in
    weights.
    """

    rotation: float = 0.006
    rotation_accel: float = 0.0025
    direction: float = 0.001
    direction_accel: float = 0.0004
    log_depth: float = 0.004
    log_depth_accel: float = 0.0016
    expression: float = 0.06
    expression_accel: float = 0.06
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


class _LagSmoother(FixedLagSmoother):
    """filterpy's fixed-lag smoother with the prior-covariance gain and smoothing from step 0."""

    def smooth(self, z: np.ndarray, u: np.ndarray | None = None) -> None:
        f, h, q, r = self.F, self.H, self.Q, self.R
        k = self.count
        x_pre = f @ self.x
        p_pre = f @ self.P @ f.T + q
        self.y = z - h @ x_pre
        self.S = h @ p_pre @ h.T + r
        si = np.linalg.inv(self.S)
        gain = p_pre @ h.T @ si
        self.x = x_pre + gain @ self.y
        i_kh = self._I - gain @ h
        self.P = i_kh @ p_pre @ i_kh.T + gain @ r @ gain.T
        self.xSmooth.append(x_pre.copy())
        hts = h.T @ si
        f_lh = (f - f @ gain @ h).T
        ps = p_pre.copy()
        for i in range(min(self.N, k + 1)):
            self.xSmooth[k - i] = self.xSmooth[k - i] + (ps @ hts) @ self.y
            ps = ps @ f_lh
        self.count += 1


class _Channel:
    """Constant-velocity Kalman over D coefficients that share one noise model, fixed-lag smoothed.

    Coefficients with the same noise have the same covariance and gain, so one 2-state filter
    (position, velocity) carries all D of them as columns of a (2, D) state: tiny matrices.
    """

    def __init__(self, first: np.ndarray, measure_std: float, accel_std: float, lag: int) -> None:
        self.dim = len(first)
        self.smoother = _LagSmoother(dim_x=2, dim_z=1, N=max(lag, 0) + 1)
        self.smoother.F = np.array([[1.0, 1.0], [0.0, 1.0]])
        self.smoother.H = np.array([[1.0, 0.0]])
        q = accel_std**2
        self.smoother.Q = q * np.array([[0.25, 0.5], [0.5, 1.0]])
        self.r = measure_std**2
        self.smoother.R = np.array([[self.r]])
        self.smoother.x = np.stack([first, np.zeros(self.dim)])
        self.smoother.P = np.diag([self.r, 100 * q + self.r])
        self.smoother.xSmooth = _Window(lag + 2)
        self.variances = _Window(lag + 2)

    def push(self, z: np.ndarray | None) -> int:
        """Feed one frame's (D,) values (None = missing); returns its step number."""
        step = self.smoother.count
        if z is None:
            self.smoother.R = np.array([[MISSING_VARIANCE]])
            z = (self.smoother.H @ self.smoother.F @ self.smoother.x)[0]
        else:
            self.smoother.R = np.array([[self.r]])
        self.smoother.smooth(z[None, :])
        self.variances.append(float(self.smoother.P[0, 0]))
        return step

    def state(self, step: int) -> tuple[np.ndarray, float]:
        """Smoothed position (D,) and its filtered variance at step."""
        return self.smoother.xSmooth[step][0].copy(), self.variances[step]

    def confidence(self, step: int) -> float:
        """sqrt(measurement variance / state variance), clipped to [0, 1]."""
        return float(np.clip(np.sqrt(self.r / max(self.variances[step], 1e-12)), 0.0, 1.0))


def _translation_coords(translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translation (3,) -> image-plane direction (x/z, y/z) (2,) and log depth (1,)."""
    t = np.asarray(translation, np.float64)
    z = max(t[2], 1e-6)
    return t[:2] / z, np.array([np.log(z)])


def _translation_from(direction: np.ndarray, log_depth: np.ndarray) -> np.ndarray:
    z = float(np.exp(log_depth[0]))
    return np.array([direction[0] * z, direction[1] * z, z])


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
        self._rotation: _Channel | None = None
        self._xy: _Channel | None = None
        self._z: _Channel | None = None
        self._expression: _Channel | None = None
        self._lighting: _Channel | None = None

    def _start(self, fit: FaceFit) -> None:
        n, lag = self.noise, self.lag
        self._rotation = _Channel(fit.rotation, n.rotation, n.rotation_accel, lag)
        direction, log_depth = _translation_coords(fit.translation)
        self._xy = _Channel(direction, n.direction, n.direction_accel, lag)
        self._z = _Channel(log_depth, n.log_depth, n.log_depth_accel, lag)
        e = fit.expression.astype(np.float64)
        self._expression = _Channel(e, n.expression, n.expression_accel, lag)
        if fit.lighting is not None:
            light = fit.lighting.reshape(-1).astype(np.float64)
            self._lighting = _Channel(light, n.lighting, n.lighting_accel, lag)

    def push(self, fit: FaceFit | None) -> SmoothedFit | None:
        """Add the next frame's fit (None: no face this frame); returns frame - lag when ready."""
        observed = fit is not None and fit.reliable
        if fit is not None:
            self._template = fit if (observed or self._template is None) else self._template
        step = None
        if observed and self._rotation is None:
            self._start(fit)
        if self._rotation is not None:
            step = self._rotation.push(fit.rotation.astype(np.float64) if observed else None)
            direction, log_depth = (
                _translation_coords(fit.translation) if observed else (None, None)
            )
            self._xy.push(direction)
            self._z.push(log_depth)
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
        if pending.step is None or pending.template is None or self._rotation is None:
            return SmoothedFit(pending.frame, pending.template, 0.0, pending.observed)
        step = pending.step
        pose_channels = (self._rotation, self._xy, self._z)
        confidence = min(c.confidence(step) for c in pose_channels)
        pose = np.concatenate([c.state(step)[0] for c in pose_channels])
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
            translation=_translation_from(pose[3:5], pose[5:6]),
            expression=expression.astype(np.float32),
            lighting=lighting,
            identity=identity,
            reliable=confidence >= self.min_confidence,
            reason="" if confidence >= self.min_confidence else "low smoothing confidence",
        )
        return SmoothedFit(pending.frame, fit, confidence, pending.observed)
