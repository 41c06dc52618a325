"""SequenceAnalyser: order, lag and bounded buffering; prior rendering lines up with the crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_video.analysis.priors import crop_pixels, render_face_priors
from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser
from facesr_video.faces.align import Alignment, align
from facesr_video.morph.formats import load_face_model
from tests.conftest import DATA, ICT_NPZ, require


@pytest.fixture(scope="module")
def model():
    return load_face_model(require(ICT_NPZ))


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    path = require(DATA / "faces" / "congress" / "A000014.jpg")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.slow
def test_frames_come_out_in_order_after_the_lag_and_none_is_lost(model, portrait):
    analyser = SequenceAnalyser(model, AnalysisConfig(smooth_lag=3))
    blank = np.full_like(portrait, 90)
    frames = [portrait] * 6 + [blank] * 2 + [portrait] * 4
    out = []
    for index, rgb in enumerate(frames):
        ready = analyser.push(index, rgb, payload=index)
        assert len(analyser._pending) <= 3 + 1  # bounded: only the smoother's lag is held
        if index < 3:
            assert ready == []
        out += ready
    out += analyser.finish()
    assert [a.index for a in out] == list(range(len(frames)))
    assert [a.payload for a in out] == list(range(len(frames)))
    assert all(len(a.faces) == 1 for a in out[1:6])  # the first frame: the track is born
    # No face in view: the tracker may predict it for a frame or two, never as a detection.
    assert all(not f.observation.detected for a in out[6:8] for f in a.faces)
    face = out[4].faces[0]
    assert face.fit.reliable and 0.0 < face.confidence <= 1.0
    assert face.fit.residual < 0.1
    # The crop from the smoothed fit is centred where dlib's landmarks would centre it.
    middle = (face.alignment.crop_size - 1) / 2.0
    centre = face.alignment.frame_from_crop @ np.array([middle, middle, 1.0])
    dlib_centre = face.observation.alignment.frame_from_crop @ np.array([middle, middle, 1.0])
    assert np.abs(centre - dlib_centre).max() < 3.0


def test_no_smoothing_passes_raw_fits_without_lag(model, portrait):
    analyser = SequenceAnalyser(model, AnalysisConfig(smoothing=False))
    ready = analyser.push(0, portrait, payload="a")
    assert [r.payload for r in ready] == ["a"]
    assert ready[0].faces and ready[0].faces[0].confidence == 1.0


def test_frames_observed_ahead_are_analysed_as_if_observed_in_push(model, portrait):
    blank = np.full_like(portrait, 90)
    frames = [portrait] * 3 + [blank] + [portrait] * 2
    inline = SequenceAnalyser(model, AnalysisConfig(smooth_lag=2))
    ahead = SequenceAnalyser(model, AnalysisConfig(smooth_lag=2))
    seen = [ahead.observe(index, rgb) for index, rgb in enumerate(frames)]  # all before any fit
    one = [a for i, rgb in enumerate(frames) for a in inline.push(i, rgb, i)] + inline.finish()
    two = [a for i, rgb in enumerate(frames) for a in ahead.push(i, rgb, i, seen[i])]
    two += ahead.finish()
    assert [a.index for a in two] == [a.index for a in one] == list(range(len(frames)))
    for a, b in zip(one, two, strict=True):
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces]
        for f, g in zip(a.faces, b.faces, strict=True):
            np.testing.assert_allclose(f.landmarks68, g.landmarks68, atol=1e-4)
    with pytest.raises(ValueError, match="frame 0 pushed as frame 1"):
        SequenceAnalyser(model).push(1, portrait, None, seen[0])


def test_crop_pixels_follow_the_scaled_alignment():
    alignment = align(np.random.default_rng(0).uniform(20, 60, (68, 2)).astype(np.float32), 32)
    xy = torch.tensor([[[30.0, 40.0], [10.0, 5.0]]])
    got = crop_pixels(xy, [alignment], 4)[0].numpy()
    scaled = alignment.scaled(4).crop_from_frame
    hr = xy[0].numpy() * 4 + 1.5
    want = hr @ scaled[:, :2].T + scaled[:, 2]
    np.testing.assert_allclose(got, want, atol=1e-4)
    # The same point through the LR crop then the crop upscale: identical.
    lr_crop = xy[0].numpy() @ alignment.crop_from_frame[:, :2].T + alignment.crop_from_frame[:, 2]
    np.testing.assert_allclose(got, lr_crop * 4 + 1.5, atol=1e-4)


def test_priors_cover_the_face_in_the_crop(model, portrait):
    analyser = SequenceAnalyser(model, AnalysisConfig(smoothing=False))
    face = analyser.push(0, portrait, payload=None)[0].faces[0]
    priors = render_face_priors(model, [face.fit], [face.alignment], 4)
    n = face.alignment.crop_size * 4
    assert priors.maps.shape == (1, 13, n, n)
    coverage = priors.coverage[0, 0]
    assert 0.2 < coverage.mean() < 0.8
    # The landmarks (in HR crop pixels) fall on covered pixels.
    m = Alignment(face.alignment.crop_from_frame, face.alignment.crop_size).scaled(4)
    hr = face.landmarks68 * 4 + 1.5
    pts = np.round(hr @ m.crop_from_frame[:, :2].T + m.crop_from_frame[:, 2]).astype(int)
    inner = pts[17:]  # brows, nose, eyes, mouth (the eyes are holes in the ICT mesh)
    covered = coverage[inner[:, 1].clip(0, n - 1), inner[:, 0].clip(0, n - 1)]
    assert covered.float().mean() > 0.7


def test_priors_rendered_small_and_resized_match_the_full_render(model, portrait):
    analyser = SequenceAnalyser(model, AnalysisConfig(smoothing=False))
    face = analyser.push(0, portrait, payload=None)[0].faces[0]
    full = render_face_priors(model, [face.fit], [face.alignment], 4, detail=4)
    small = render_face_priors(model, [face.fit], [face.alignment], 4, detail=1)
    assert small.maps.shape == full.maps.shape
    assert small.maps.is_contiguous(memory_format=torch.channels_last)
    # The same face in the same place: coverage agrees but for a rim at the silhouette, and the
    # smooth maps differ by a few hundredths at most on average.
    a, b = full.coverage[0, 0] > 0.5, small.coverage[0, 0] > 0.5
    assert (a & b).sum() / (a | b).sum() > 0.95
    assert (full.maps - small.maps).abs().mean() < 0.02
    assert small.raster.tri_id.shape[-1] == face.alignment.crop_size
    # In the layout the network's runtime reads (OpenVINO: plain NCHW), without a later copy.
    plain = render_face_priors(
        model, [face.fit], [face.alignment], 4, memory_format=torch.contiguous_format
    )
    assert plain.maps.is_contiguous()
    torch.testing.assert_close(plain.maps, small.maps)
    with pytest.raises(ValueError, match="detail"):
        render_face_priors(model, [face.fit], [face.alignment], 4, detail=3)
