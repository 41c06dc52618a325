"""extract-priors end to end on congress portraits: counts, shapes, alignment, resume, errors."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.dataset.extract import extract_priors
from facesr_video.dataset.extract_log import DONE_FILE, SKIPPED_FILE
from facesr_video.dataset.extract_options import SHEET_FILE, ExtractOptions
from facesr_video.dataset.store import MANIFEST, StoreReader
from facesr_video.errors import InputError
from facesr_video.faces.align import TEMPLATE68
from facesr_video.morph.formats import load_face_model
from facesr_video.render.layout import prior_layout
from tests.conftest import DATA, ICT_NPZ, require

CONGRESS = DATA / "faces" / "congress"
PORTRAITS = ("A000014.jpg", "A000022.jpg", "A000055.jpg", "A000069.jpg", "A000109.jpg")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """dB between two uint8 images."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def make_folder(folder: Path, portraits: tuple[str, ...] = PORTRAITS) -> Path:
    """Portraits plus a text file named .jpg and a flat grey image (no face)."""
    require(CONGRESS)
    folder.mkdir(parents=True)
    for name in portraits:
        shutil.copy(require(CONGRESS / name), folder / name)
    (folder / "notes.jpg").write_text("this is not an image\n")
    Image.new("RGB", (225, 275), (128, 128, 128)).save(folder / "grey.png")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    require(ICT_NPZ)
    root = tmp_path_factory.mktemp("extract")
    folder = make_folder(root / "portraits")
    options = ExtractOptions(
        inputs=(folder,), out=root / "store", scale=4, face_model=ICT_NPZ, quiet=True
    )
    return options, extract_priors(options)


def test_one_sample_per_portrait_and_bad_files_listed(run) -> None:
    options, summary = run
    assert summary.inputs == 7 and summary.frames == 6  # the text file is never analysed
    assert summary.faces_stored == summary.samples_total == len(PORTRAITS)
    assert summary.skipped_by_reason() == {"no face": 1, "unreadable image": 1}
    reader = StoreReader(options.out)
    assert sorted(reader.sources()) == sorted(f"portraits/{n}" for n in PORTRAITS)
    assert {(k.track, k.frame) for k in reader.keys} == {(0, 0)}
    skipped = json.loads((options.out / SKIPPED_FILE).read_text())
    assert {(e["source"], e["reason"]) for e in skipped} == {
        ("portraits/grey.png", "no face"),
        ("portraits/notes.jpg", "unreadable image"),
    }
    assert "no face 1" in summary.one_line() and "unreadable image 1" in summary.one_line()


def test_samples_have_the_store_shapes_and_layout(run) -> None:
    options, _ = run
    reader = StoreReader(options.out)
    layout = prior_layout(load_face_model(ICT_NPZ))
    assert reader.scale == 4 and tuple(reader.layout.channels) == layout.channels
    for i in range(len(reader)):
        s = reader[i]
        n = s.lr.shape[0]
        assert s.lr.shape == (n, n, 3) and s.hr.shape == (4 * n, 4 * n, 3)
        assert s.priors.shape == (layout.num_channels, 4 * n, 4 * n)
        assert s.priors.dtype == np.float16
        assert s.coeffs.shape == (layout.num_coefficients,) and np.isfinite(s.coeffs).all()
        # Coverage, rendered at the low-resolution size and resized up: 0 or 1 but for a rim
        # at the silhouette.
        mask = s.priors[layout.index("mask")].astype(np.float32)
        assert mask.min() >= 0.0 and mask.max() <= 1.0
        assert np.isin(mask, (0.0, 1.0)).mean() > 0.8
        assert 0.15 < mask.mean() < 0.9  # a face, not nothing and not the whole crop


def test_lr_crop_is_the_degraded_hr_crop(run) -> None:
    # HR and LR crops come from one alignment at two scales: downscaling the HR crop gives
    # (up to the realistic blur, noise and JPEG) the LR crop; a half-pixel slip would not.
    options, _ = run
    reader = StoreReader(options.out)
    for i in range(len(reader)):
        s = reader[i]
        expected = downscale(np.asarray(s.hr), 4)
        assert psnr(expected, np.asarray(s.lr)) > 24.0
        shifted = np.roll(expected, 1, axis=1)
        assert psnr(expected, np.asarray(s.lr)) > psnr(shifted, np.asarray(s.lr)) + 1.0


def test_render_lines_up_with_the_aligned_crop(run) -> None:
    # The crop puts the fitted landmarks on the template: the mesh must cover those points and
    # the eyes/lips part channels must sit near the template's eyes and mouth.
    options, _ = run
    reader = StoreReader(options.out)
    channels = reader.layout.channels
    for i in range(len(reader)):
        s = reader[i]
        size = s.hr.shape[0]
        points = np.clip(np.round(TEMPLATE68 * size - 0.5).astype(int), 0, size - 1)
        mask = s.priors[channels.index("mask")]
        solid = points[list(range(17, 36)) + list(range(48, 60))]  # brows, nose, outer lips
        assert mask[solid[:, 1], solid[:, 0]].mean() > 0.9  # (the eyes and mouth are holes)
        for part, ids in (("part_eyes", range(36, 48)), ("part_lips", range(48, 68))):
            weights = s.priors[channels.index(part)].astype(np.float64)
            ys, xs = np.mgrid[0:size, 0:size]
            centre = np.array([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()
            target = points[list(ids)].mean(axis=0)
            assert np.linalg.norm(centre - target) < 0.06 * size, part


def test_contact_sheet_and_records_are_written(run) -> None:
    options, _ = run
    sheet = Image.open(options.out / SHEET_FILE)
    assert sheet.width >= 6 * 128 and sheet.height > len(PORTRAITS) * 128
    done = json.loads((options.out / DONE_FILE).read_text())["done"]
    assert len(done) == 7  # unreadable and faceless files too: a rerun does not retry them


def test_rerun_adds_nothing(run) -> None:
    options, _ = run
    manifest = (options.out / MANIFEST).read_text()
    again = extract_priors(options)
    assert again.faces_stored == 0 and again.already_done == 7 and again.frames == 0
    assert again.samples_total == len(PORTRAITS)
    assert (options.out / MANIFEST).read_text() == manifest


def test_resume_without_records_refits_but_never_duplicates(run, tmp_path: Path) -> None:
    options, _ = run
    store = tmp_path / "store"
    shutil.copytree(options.out, store)
    (store / DONE_FILE).unlink()  # as if killed after a shard was committed, before the record
    again = extract_priors(replace(options, out=store))
    assert again.faces_stored == 0 and again.faces_present == len(PORTRAITS)
    keys = StoreReader(store).keys
    assert len(keys) == len(set(keys)) == len(PORTRAITS)


def test_no_face_anywhere_is_an_error_and_leaves_no_store(tmp_path: Path) -> None:
    require(ICT_NPZ)
    folder = make_folder(tmp_path / "empty", portraits=())
    out = tmp_path / "store"
    options = ExtractOptions(inputs=(folder,), out=out, scale=4, face_model=ICT_NPZ, quiet=True)
    with pytest.raises(InputError, match="no usable face"):
        extract_priors(options)
    assert not out.exists()


def test_missing_input_fails_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "store"
    options = ExtractOptions(
        inputs=(tmp_path / "nowhere.mp4",), out=out, scale=4, face_model=ICT_NPZ, quiet=True
    )
    with pytest.raises(InputError, match="input not found"):
        extract_priors(options)
    assert not out.exists()


@pytest.mark.parametrize("bad", [{"scale": 3}, {"every": 0}, {"degradation": "jpeg"}])
def test_bad_options_are_input_errors(tmp_path: Path, bad: dict[str, object]) -> None:
    options = ExtractOptions(inputs=(tmp_path,), out=tmp_path / "s", scale=4, quiet=True)
    with pytest.raises(InputError):
        extract_priors(replace(options, **bad))
    assert not (tmp_path / "s").exists()
