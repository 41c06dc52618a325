"""Scene cuts: found between shots, not within a shaky or a still one."""

from __future__ import annotations

import numpy as np

from facesr_video.faces.shots import ShotChangeDetector


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255, size=(9, 16, 3))
    return np.kron(base, np.ones((20, 20, 1))).astype(np.uint8)  # 180 x 320


def test_a_cut_is_found_once_and_shaky_frames_are_not_cuts() -> None:
    rng = np.random.default_rng(0)
    first, second = _scene(1), _scene(2)
    frames = []
    for _ in range(12):  # hand-held: a pixel of shake and sensor noise
        shaken = np.roll(first, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(0, 1))
        frames.append(np.clip(shaken + rng.normal(0, 3, first.shape), 0, 255).astype(np.uint8))
    frames += [second] * 6
    detector = ShotChangeDetector()
    cuts = [i for i, frame in enumerate(frames) if detector.push(frame)]
    assert cuts == [12] and detector.cuts == 1


def test_a_still_shot_that_fades_slowly_is_one_shot() -> None:
    detector = ShotChangeDetector()
    scene = _scene(3).astype(np.float32)
    assert not any(detector.push((scene * (1 - 0.02 * k)).astype(np.uint8)) for k in range(30))
