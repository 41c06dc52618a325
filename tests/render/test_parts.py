"""Part labels derived from the landmark layout, on the real ICT face model."""

from __future__ import annotations

import numpy as np

from facesr_video.render.parts import BROWS, EYES, LIPS, NOSE, SKIN, part_labels, part_one_hot
from tests.conftest import ICT_NPZ, require
from tests.render.scene import load_model


def test_every_part_is_present_and_sensible() -> None:
    model = load_model(require(ICT_NPZ))
    labels = part_labels(model)
    counts = np.bincount(labels, minlength=6)
    assert labels.shape == (model.num_vertices,)
    for part in (BROWS, EYES, NOSE, LIPS):
        assert 50 < counts[part] < 0.15 * model.num_vertices
    assert counts[SKIN] > 0.6 * model.num_vertices
    lm = model.mean[model.landmarks68]
    # Lips sit around the mouth landmarks, the nose around the nose tip, brows above the eyes.
    mouth_centre = lm[48:60].mean(0)
    lips = model.mean[labels == LIPS]
    assert np.linalg.norm(lips[:, :2].mean(0) - mouth_centre[:2]) < 0.5
    assert np.abs(lips[:, 0]).max() <= 1.15 * np.abs(lm[48:60, 0]).max()
    nose = model.mean[labels == NOSE]
    assert nose[:, 1].min() > lm[48:68, 1].max()  # above the mouth
    assert nose[:, 2].max() >= lm[30, 2] - 0.5  # includes the tip
    brows = model.mean[labels == BROWS]
    assert brows[:, 1].min() > lm[36:48, 1].max()
    # the outer lip centres are lips, the nose tip is nose
    assert labels[model.landmarks68[30]] == NOSE
    assert labels[model.landmarks68[51]] == LIPS and labels[model.landmarks68[57]] == LIPS


def test_labels_are_cached_and_one_hot_matches() -> None:
    model = load_model(require(ICT_NPZ))
    assert part_labels(model) is part_labels(model)
    one_hot = part_one_hot(model)
    assert one_hot.shape == (model.num_vertices, 5)
    assert np.array_equal(one_hot.sum(1), np.ones(model.num_vertices, np.float32))
    assert np.array_equal(one_hot.argmax(1) + 1, part_labels(model))
