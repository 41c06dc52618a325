"""The project's .npz face model: round trip, and errors that name the bad key."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.errors import ModelError
from facesr_video.morph.formats import load_face_model, save_face_model


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def test_shared_model_loads_as_float32(ict_model_path):
    model = load_face_model(ict_model_path)
    assert model.mean.shape == (9409, 3)
    assert model.identity_basis.shape == (100, 9409, 3)
    assert model.identity_basis.dtype == np.float32
    assert model.expression_basis.shape == (53, 9409, 3)
    assert len(model.expression_names) == 53
    assert model.jaw_contour_right.shape == (17,)
    assert model.expression_bounds == (0.0, 1.0)
    assert len(model.gaze_expressions) == 8


def test_round_trip_keeps_arrays(ict_model_path, tmp_path):
    model = load_face_model(ict_model_path)
    out = save_face_model(model, tmp_path / "m.npz")
    again = load_face_model(out)
    np.testing.assert_array_equal(again.mean, model.mean)
    np.testing.assert_array_equal(again.identity_basis, model.identity_basis)  # float16 exact
    np.testing.assert_array_equal(again.triangles, model.triangles)
    assert again.expression_names == model.expression_names
    assert again.source == model.source


@pytest.mark.parametrize("key", ["identity_basis", "landmarks68", "jawline_left_extended"])
def test_missing_key_is_named(ict_model_path, tmp_path, key):
    arrays = _arrays(ict_model_path)
    del arrays[key]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelError, match=f"'{key}' is missing"):
        load_face_model(tmp_path / "bad.npz")


def test_wrong_shape_and_dtype_are_named(ict_model_path, tmp_path):
    arrays = _arrays(ict_model_path)
    arrays["expression_basis"] = arrays["expression_basis"][:, :100]
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(ModelError, match="'expression_basis' has shape"):
        load_face_model(tmp_path / "shape.npz")
    arrays = _arrays(ict_model_path)
    arrays["triangles"] = arrays["triangles"].astype(np.float32)
    np.savez(tmp_path / "dtype.npz", **arrays)
    with pytest.raises(ModelError, match="'triangles' has dtype float32"):
        load_face_model(tmp_path / "dtype.npz")
    arrays = _arrays(ict_model_path)
    arrays["landmarks68"] = arrays["landmarks68"] + 100000
    np.savez(tmp_path / "range.npz", **arrays)
    with pytest.raises(ModelError, match="'landmarks68' has indices outside"):
        load_face_model(tmp_path / "range.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    with pytest.raises(ModelError, match="not a readable"):
        load_face_model(tmp_path / "x.npz")
    with pytest.raises(ModelError, match="not found"):
        load_face_model(tmp_path / "absent.npz")
