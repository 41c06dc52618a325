"""Fixed-lag smoothing: order, lag, less jitter, gaps predicted with falling confidence."""

from __future__ import annotations

import numpy as np

from facesr_video.morph.camera import Camera
from facesr_video.morph.fit import FaceFit
from facesr_video.morph.smooth import FitSmoother

T = 150


def truth():
    t = np.arange(T)
    rotation = np.stack([0.2 * np.sin(t / 20), 0.3 * np.sin(t / 30), 0.05 * np.cos(t / 25)], 1)
    translation = np.stack([2 * np.sin(t / 40), np.zeros(T), 60 + 3 * np.sin(t / 50)], 1)
    jaw = np.clip(0.5 + 0.4 * np.sin(t / 15), 0, 1)
    return rotation, translation, jaw


def noisy_fits(seed=0, unreliable=()):
    rng = np.random.default_rng(seed)
    rotation, translation, jaw = truth()
    fits = []
    for i in range(T):
        e = np.zeros(53, np.float32)
        e[26] = np.clip(jaw[i] + rng.normal(0, 0.08), 0, 1)
        fits.append(
            FaceFit(
                identity=np.zeros(100, np.float32),
                expression=e,
                rotation=rotation[i] + rng.normal(0, 0.02, 3),
                translation=translation[i] + rng.normal(0, [0.2, 0.2, 1.5]),
                camera=Camera.for_image(640, 480),
                residual=0.02,
                reliable=i not in unreliable,
                lighting=np.full((9, 3), 0.5, np.float32) + rng.normal(0, 0.03, (9, 3)),
            )
        )
    return fits


def run(smoother, fits):
    out = [o for f in fits if (o := smoother.push(f)) is not None]
    assert len(out) == len(fits) - smoother.lag
    return out + smoother.flush()


def accel(x):
    return np.abs(np.diff(x, 2, axis=0)).mean()


def test_smoothing_reduces_jitter_and_error():
    fits = noisy_fits()
    out = run(FitSmoother(lag=5), fits)
    assert [o.frame for o in out] == list(range(T))
    rotation, _, jaw = truth()
    raw_r = np.array([f.rotation for f in fits])
    smooth_r = np.array([o.fit.rotation for o in out])
    assert accel(smooth_r) < 0.5 * accel(raw_r)
    assert np.abs(smooth_r - rotation).mean() < np.abs(raw_r - rotation).mean()
    smooth_jaw = np.array([o.fit.expression[26] for o in out])
    raw_jaw = np.array([f.expression[26] for f in fits])
    assert np.abs(smooth_jaw - jaw).mean() < np.abs(raw_jaw - jaw).mean()
    assert all(o.fit.expression.min() >= 0.0 and o.fit.expression.max() <= 1.0 for o in out)
    assert all(o.confidence == 1.0 for o in out)
    assert out[0].fit.lighting.shape == (9, 3)


def test_gap_is_predicted_and_confidence_falls():
    fits = noisy_fits(1)
    pushed = [None if 60 <= i < 75 else f for i, f in enumerate(fits)]
    out = run(FitSmoother(lag=4), pushed)
    confidence = np.array([o.confidence for o in out])
    assert confidence[59] == 1.0 and confidence[80] == 1.0
    assert confidence[74] < confidence[64] < 1.0
    assert not out[74].observed and out[74].fit is not None
    rotation, _, _ = truth()
    # the prediction inside the gap stays near the truth (constant velocity, short gap)
    assert np.abs(out[62].fit.rotation - rotation[62]).max() < 0.1
    unreliable = run(FitSmoother(lag=4), noisy_fits(1, unreliable=set(range(60, 75))))
    assert [o.confidence for o in unreliable][70] < 1.0


def test_frames_before_the_first_reliable_fit():
    fits = noisy_fits(2, unreliable={0, 1, 2})
    out = run(FitSmoother(lag=3), [None] + fits)
    assert out[0].fit is None and out[0].confidence == 0.0
    assert out[1].fit is fits[0] and out[1].confidence == 0.0
    assert out[5].confidence == 1.0


def test_memory_is_bounded():
    smoother = FitSmoother(lag=5)
    run(smoother, noisy_fits(3) + noisy_fits(4))
    assert len(smoother._rotation.smoother.xSmooth.items) <= smoother.lag + 2
