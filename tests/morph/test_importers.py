"""ICT-FaceKit folder importer (real raw files + synthetic sets) and BFM .mat importer."""

from __future__ import annotations

import numpy as np
import pytest

from facesr_video.errors import ModelError
from facesr_video.morph.bfm import import_bfm_mat
from facesr_video.morph.formats import load_face_model, save_face_model
from facesr_video.morph.ict import import_ict_folder
from facesr_video.morph.ict_registry import DISPLACEMENT_FINGERPRINTS
from tests.conftest import FACEMODELS, require
from tests.morph.synthetic import EXPRESSIONS, write_bfm_mat, write_ict_folder

RAW = FACEMODELS / "ict-facekit" / "raw"


def test_raw_ict_files_match_the_packed_model(ict_model_path):
    model = import_ict_folder(
        require(RAW), allow_partial=True, fingerprints=DISPLACEMENT_FINGERPRINTS
    )
    packed = load_face_model(ict_model_path)
    assert model.expression_names == ("eyeBlink_L", "jawOpen")
    np.testing.assert_allclose(model.mean, packed.mean, atol=1e-5)
    np.testing.assert_array_equal(model.triangles, packed.triangles)
    np.testing.assert_array_equal(model.triangles_uv, packed.triangles_uv)
    np.testing.assert_array_equal(model.landmarks68, packed.landmarks68)
    np.testing.assert_array_equal(model.jaw_contour_left, packed.jaw_contour_left)
    np.testing.assert_allclose(model.identity_basis, packed.identity_basis[:2], atol=5e-4)
    jaw = packed.expression_names.index("jawOpen")
    np.testing.assert_allclose(model.expression_basis[1], packed.expression_basis[jaw], atol=1e-3)


def test_raw_ict_folder_is_incomplete_without_allow_partial():
    with pytest.raises(ModelError, match="missing expression browDown_L.obj"):
        import_ict_folder(require(RAW))


def test_synthetic_ict_folder(tmp_path):
    truth = write_ict_folder(tmp_path / "ict", identities=3)
    model = import_ict_folder(tmp_path / "ict")
    assert model.num_identity == 3
    assert model.expression_names == EXPRESSIONS
    np.testing.assert_allclose(model.identity_basis[2], truth["identity002.obj"], atol=1e-5)
    np.testing.assert_allclose(model.expression_basis[1], truth["jawOpen.obj"], atol=1e-5)
    np.testing.assert_array_equal(model.landmarks68, truth["landmarks"])
    assert model.triangles.shape == (200, 3)  # the quad touching non-face vertices is dropped
    a, b, c, d = truth["quads"][0]
    np.testing.assert_array_equal(model.triangles[:2], [[a, b, c], [a, c, d]])
    again = load_face_model(save_face_model(model, tmp_path / "m.npz"))
    assert again.expression_names == EXPRESSIONS


def test_synthetic_ict_fingerprint_mismatch(tmp_path):
    write_ict_folder(tmp_path / "ict")
    with pytest.raises(ModelError, match="identity000.obj does not match"):
        import_ict_folder(tmp_path / "ict", fingerprints={"identity000.obj": "0" * 64})


def test_ict_folder_missing_index(tmp_path):
    write_ict_folder(tmp_path / "ict")
    (tmp_path / "ict" / "vertex_indices.json").unlink()
    with pytest.raises(ModelError, match="vertex_indices.json is missing"):
        import_ict_folder(tmp_path / "ict")


def test_bfm_mat(tmp_path):
    data = write_bfm_mat(tmp_path / "BFM_model_front.mat", n=300)
    model = import_bfm_mat(tmp_path / "BFM_model_front.mat")
    assert model.expression_bounds is None
    assert model.num_identity == 80 and model.num_expression == 64
    np.testing.assert_allclose(model.mean, data["meanshape"].reshape(300, 3) * 10, rtol=1e-5)
    np.testing.assert_allclose(
        model.identity_basis[5], data["idBase"][:, 5].reshape(300, 3) * 10, rtol=1e-5
    )
    np.testing.assert_array_equal(model.triangles, data["tri"].astype(int) - 1)
    np.testing.assert_array_equal(model.landmarks68, data["keypoints"].astype(int) - 1)
    np.testing.assert_allclose(model.albedo_mean, data["meantex"].reshape(300, 3) / 255, rtol=1e-5)
    assert model.albedo_basis.shape == (80, 300, 3)
    again = load_face_model(save_face_model(model, tmp_path / "bfm.npz", half=False))
    assert again.expression_bounds is None
    np.testing.assert_array_equal(again.albedo_basis, model.albedo_basis)


def test_bfm_missing_key(tmp_path):
    write_bfm_mat(tmp_path / "b.mat", n=100, drop="exBase")
    with pytest.raises(ModelError, match="'exBase' is missing"):
        import_bfm_mat(tmp_path / "b.mat")
