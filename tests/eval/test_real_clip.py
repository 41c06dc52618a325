"""End to end on a real clip: degrade, bicubic baseline, every metric, report (no pipeline)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from facesr_video.dataset.degrade.bicubic import crop_to_multiple, downscale, upscale_bicubic
from facesr_video.eval.identity import IdentityEncoder, face_models_dir, identity_similarity
from facesr_video.eval.metrics import (
    landmark_error,
    landmark_jitter,
    psnr,
    ssim,
    temporal_flicker,
    temporal_flicker_series,
)
from facesr_video.eval.report import read_report, write_report
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    ClipResult,
    MethodScores,
    ReportMeta,
    SampleFrame,
)
from tests.conftest import DATA, require

CLIP = DATA / "videos" / "whitehouse" / "wh_obama_01.mp4"
FRAMES = 10


def _decode(path: Path, count: int) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def _landmarks(predictor, image: np.ndarray, box) -> np.ndarray:
    import dlib

    shape = predictor(image, dlib.rectangle(*box))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def _crops(frames: list[np.ndarray], box) -> torch.Tensor:
    left, top, right, bottom = box
    crops = [torch.from_numpy(f[top:bottom, left:right].copy()) for f in frames]
    return torch.stack(crops).permute(0, 3, 1, 2).float() / 255


@pytest.mark.slow
def test_bicubic_scores_on_real_clip_order_by_scale(tmp_path: Path) -> None:
    import dlib

    frames = _decode(require(CLIP), FRAMES)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        str(face_models_dir() / "shape_predictor_68_face_landmarks.dat")
    )
    encoder = IdentityEncoder()
    results = {}
    for scale in (4, 8):
        originals = [crop_to_multiple(f, scale) for f in frames]
        rect = max(detector(originals[0], 0), key=lambda r: r.area())
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        lows = [downscale(f, scale) for f in originals]
        outputs = [upscale_bicubic(low, scale) for low in lows]
        ref_points = np.stack([_landmarks(predictor, f, box) for f in originals])
        out_points = np.stack([_landmarks(predictor, f, box) for f in outputs])
        hr, out = _crops(originals, box), _crops(outputs, box)
        per_frame = psnr(out, hr)
        identity = [
            identity_similarity(encoder.describe(o, landmarks=p), encoder.describe(h, landmarks=p))
            for o, h, p in zip(outputs[:3], originals[:3], ref_points[:3], strict=True)
        ]
        results[scale] = MethodScores(
            method=METHOD_BICUBIC,
            psnr=float(per_frame.mean()),
            ssim=float(ssim(out, hr).mean()),
            identity=float(np.mean(identity)),
            landmark_error=float(
                landmark_error(torch.from_numpy(out_points), torch.from_numpy(ref_points)).mean()
            ),
            flicker=temporal_flicker(out, hr),
            jitter=landmark_jitter(torch.from_numpy(out_points)),
            fps=math.nan,
            psnr_per_frame=tuple(per_frame.tolist()),
            flicker_per_frame=tuple(temporal_flicker_series(out, hr).tolist()),
        )
        sample = SampleFrame(0, lows[0], originals[0], ((METHOD_BICUBIC, outputs[0]),), box)
        clip = ClipResult(
            CLIP.stem,
            str(CLIP),
            scale,
            FRAMES,
            FRAMES,
            *originals[0].shape[1::-1],
            (results[scale],),
            (sample,),
        )
        files = write_report(tmp_path / f"x{scale}", [clip], ReportMeta(scale=scale))
        assert len(files.pictures) == 3
        (loaded,), _ = read_report(files.json)
        assert loaded == clip

    x4, x8 = results[4], results[8]
    assert 24 < x8.psnr < x4.psnr < 40  # a talking head's face at x4: high 20s to 30s dB
    assert 0 < x8.ssim < x4.ssim < 1
    assert x8.identity < x4.identity <= 1
    assert x4.landmark_error < x8.landmark_error < 0.5
    assert x4.flicker > 0 and x8.flicker > 0
