"""The report writer on synthetic results: files, JSON round trip, table rows, pictures."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesr_video.dataset.degrade.bicubic import downscale, upscale_bicubic
from facesr_video.errors import OutputError
from facesr_video.eval.pictures import LABEL_HEIGHT, comparison_strip, face_zoom, zoom_region
from facesr_video.eval.report import markdown_table, read_report, write_report
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    METHOD_NO_PRIORS,
    METHOD_OURS,
    ClipResult,
    MethodScores,
    ReportMeta,
    SampleFrame,
    method_means,
)

SCALE = 4


def _frame(seed: int, height: int = 192, width: int = 256) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    frame = np.stack(
        [
            127 + 100 * np.sin(xs / (9.0 + seed)),
            127 + 100 * np.cos(ys / 13.0),
            (xs + ys + 40 * seed) % 256,
        ],
        axis=-1,
    )
    return frame.astype(np.uint8)


def _scores(method: str, psnr: float, frames: int = 12) -> MethodScores:
    rng = np.random.default_rng(len(method))
    return MethodScores(
        method=method,
        psnr=psnr,
        ssim=0.8,
        identity=0.95,
        landmark_error=0.04,
        flicker=2.0 / 255,
        jitter=0.3,
        fps=25.0,
        psnr_per_frame=tuple(float(v) for v in psnr + rng.normal(0, 0.5, frames)),
        flicker_per_frame=tuple(float(v) for v in rng.uniform(0, 0.02, frames - 1)),
    )


def _clip(name: str, base: float, with_samples: bool = True) -> ClipResult:
    samples = ()
    if with_samples:
        original = _frame(len(name))
        lr = downscale(original, SCALE)
        bicubic = upscale_bicubic(lr, SCALE)
        samples = (
            SampleFrame(
                index=3,
                lr=lr,
                original=original,
                outputs=((METHOD_BICUBIC, bicubic), (METHOD_OURS, original // 2 + bicubic // 2)),
                face_box=(100.0, 60.0, 160.0, 130.0),
            ),
        )
    return ClipResult(
        name=name,
        source=f"/videos/{name}.mp4",
        scale=SCALE,
        frames=12,
        faces=12,
        width=256,
        height=192,
        methods=(
            _scores(METHOD_BICUBIC, base),
            _scores(METHOD_OURS, base + 2.5),
            _scores(METHOD_NO_PRIORS, base + 1.0),
        ),
        samples=samples,
    )


def _meta() -> ReportMeta:
    return ReportMeta(
        scale=SCALE,
        command="facesr-video evaluate a.mp4 b.mp4 --scale 4 --out r",
        version="0.1.0",
        device="cpu",
        created="2025-01-01T00:00:00",
        settings=(("weights", "sam-x4"), ("smoothing lag", "8")),
    )


def test_write_report_files_and_round_trip(tmp_path: Path) -> None:
    results = (_clip("talking head", 28.0), _clip("grid", 30.0))
    files = write_report(tmp_path / "report", results, _meta())
    assert files.json.is_file() and files.markdown.is_file()
    assert len(files.pictures) == 6  # per clip: one strip, one zoom, one plot
    for picture in files.pictures:
        with Image.open(picture) as image:
            assert image.format == "PNG" and image.width > 100
    clips, meta = read_report(files.json.parent)
    assert meta == _meta()
    assert clips == results  # samples are not compared (pictures only)
    document = json.loads(files.json.read_text())
    assert [m["method"] for m in document["means"]] == [
        METHOD_BICUBIC,
        METHOD_OURS,
        METHOD_NO_PRIORS,
    ]
    assert document["means"][1]["psnr"] == pytest.approx(29.0 + 2.5)
    assert document["clips"][0]["pictures"]["zoom"].startswith("pictures/00_talking_head")


def test_markdown_has_one_row_per_clip_and_method_and_means(tmp_path: Path) -> None:
    results = (_clip("talking head", 28.0, False), _clip("grid", 30.0, False))
    files = write_report(tmp_path, results, _meta())
    text = files.markdown.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 2 * 3 + 3  # header, clip x method, mean per method
    ours_row = next(r for r in rows if r.startswith("| talking head | ours |"))
    cells = [c.strip() for c in ours_row.strip("|").split("|")]
    assert cells[2] == "30.50" and cells[3] == "2.50"  # PSNR and gain over bicubic
    assert cells[6] == "4.00" and cells[7] == "2.00"  # landmark error %, flicker in levels
    assert any(r.startswith("| **mean** | ours | 31.50 | 2.50 |") for r in rows)
    assert "facesr-video evaluate a.mp4" in text and "sam-x4" in text
    assert not (tmp_path / "pictures").exists() or not any((tmp_path / "pictures").glob("*strip*"))


def test_nan_and_inf_survive_strict_json(tmp_path: Path) -> None:
    scores = MethodScores(
        method=METHOD_OURS,
        psnr=math.inf,
        ssim=1.0,
        identity=math.nan,
        landmark_error=0.0,
        flicker=math.nan,
        jitter=math.nan,
        fps=10.0,
        psnr_per_frame=(math.inf, math.nan, 30.0),
    )
    clip = ClipResult("still", "s.png", SCALE, 3, 2, 64, 64, (scores,))
    files = write_report(tmp_path, [clip], ReportMeta(scale=SCALE))
    text = files.json.read_text()
    assert "NaN" not in text and "Infinity" not in text
    (loaded,), _ = read_report(files.json)
    read_scores = loaded.methods[0]
    assert math.isinf(read_scores.psnr) and math.isnan(read_scores.identity)
    assert math.isinf(read_scores.psnr_per_frame[0]) and math.isnan(read_scores.psnr_per_frame[1])
    assert "∞" in markdown_table([clip]) and "–" in markdown_table([clip])


def test_means_skip_missing_methods_and_nans() -> None:
    first = _clip("a", 28.0, False)
    no_face = replace(_scores(METHOD_OURS, 40.0), identity=math.nan)
    only_ours = ClipResult("b", "b", SCALE, 4, 4, 64, 64, (no_face,))
    means = {m.method: m for m in method_means([first, only_ours])}
    assert means[METHOD_OURS].psnr == pytest.approx((30.5 + 40.0) / 2)
    assert means[METHOD_OURS].identity == pytest.approx(0.95)
    assert means[METHOD_BICUBIC].psnr == pytest.approx(28.0)
    assert means[METHOD_OURS].psnr_per_frame == ()


def test_report_folder_that_is_a_file_is_output_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(OutputError):
        write_report(target, [_clip("a", 28.0, False)], _meta())


def test_strip_layout_and_labels_differ_per_panel() -> None:
    clip = _clip("a", 28.0)
    sample = clip.samples[0]
    strip = comparison_strip(sample, SCALE, clip)
    panels = 4  # LR | bicubic | ours | original
    assert strip.height == 192 + LABEL_HEIGHT
    assert strip.width == panels * 256 + (panels - 1) * 4
    pixels = np.asarray(strip)
    # the original panel is pasted untouched below its label
    assert np.array_equal(pixels[LABEL_HEIGHT:, -256:], sample.original)
    # label bands hold dark text pixels
    assert (pixels[:LABEL_HEIGHT, :256].min(axis=-1) < 100).any()


def test_strip_shrinks_wide_frames() -> None:
    clip = _clip("a", 28.0)
    strip = comparison_strip(clip.samples[0], SCALE, clip, max_panel_width=128)
    assert strip.height == 96 + LABEL_HEIGHT


def test_zoom_region_is_square_and_inside() -> None:
    region = zoom_region((100, 60, 160, 130), (192, 256))
    x0, y0, x1, y1 = region
    assert x1 - x0 == y1 - y0
    assert x0 >= 0 and y0 >= 0 and x1 <= 256 and y1 <= 192
    assert x0 <= 100 and y0 <= 60 and x1 >= 160 and y1 >= 130
    corner = zoom_region((0, 0, 20, 20), (192, 256))
    assert corner[0] == 0 and corner[1] == 0


def test_face_zoom_uses_the_face_box() -> None:
    clip = _clip("a", 28.0)
    sample = clip.samples[0]
    zoom = face_zoom(sample, SCALE, clip, size=128)
    assert zoom.height == 128 + LABEL_HEIGHT
    x0, y0, x1, y1 = zoom_region(sample.face_box, sample.original.shape[:2])
    expected = Image.fromarray(np.ascontiguousarray(sample.original[y0:y1, x0:x1])).resize(
        (128, 128), Image.Resampling.NEAREST
    )
    assert np.array_equal(np.asarray(zoom)[LABEL_HEIGHT:, -128:], np.asarray(expected))
