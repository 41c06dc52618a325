"""Face motion from the 3D fits, on a real clip: the mesh registers neighbours better than the
face boxes, and the boxes better than nothing (photometric error inside the face)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facesr_video.analysis.motion import OUTSIDE_MESH_TRUST, face_motion, frame_positions
from facesr_video.analysis.sequence import AnalysedFrame, AnalysisConfig, SequenceAnalyser
from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.morph.formats import load_face_model
from facesr_video.sr.neighbours import sample_pixels
from facesr_video.video.decode import VideoDecoder
from tests.conftest import DATA, ICT_NPZ, require

CLIP = DATA / "videos" / "whitehouse" / "wh_obama_03.mp4"


@pytest.fixture(scope="module")
def analysed():
    model = load_face_model(require(ICT_NPZ))
    torch.set_num_threads(1)
    analyser: SequenceAnalyser[np.ndarray] = SequenceAnalyser(model, AnalysisConfig())
    frames: list[AnalysedFrame[np.ndarray]] = []
    for k, frame in enumerate(VideoDecoder(require(CLIP))):
        if k >= 14:
            break
        lr = downscale(frame.rgb, 4)
        frames += analyser.push(k, lr, lr)
    frames += analyser.finish()
    return model, frames


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


@pytest.mark.slow
def test_mesh_motion_registers_neighbours_better_than_boxes(analysed) -> None:
    model, frames = analysed
    errors: dict[str, list[float]] = {"none": [], "box": [], "mesh": []}
    for t in range(2, len(frames) - 2):
        for face in frames[t].faces:
            n = face.alignment.crop_size
            still = frame_positions(face.alignment, torch.zeros(1, 2, n, n))
            current, _ = sample_pixels(_tensor(frames[t].payload), still)
            for d in (-2, 2):
                other = [o for o in frames[t + d].faces if o.track_id == face.track_id]
                if not other:
                    continue
                image = _tensor(frames[t + d].payload)
                motions = {r: face_motion(model, [face], [[other[0]]], r) for r in ("box", "mesh")}
                trusted = (motions["mesh"].confidence[0] > 0.5).float()  # inside the face
                assert 0.2 < float(trusted.mean()) < 0.95
                for name, motion in (("none", None), *motions.items()):
                    positions = (
                        still if motion is None else frame_positions(face.alignment, motion.flow[0])
                    )
                    warped, _ = sample_pixels(image, positions)
                    difference = (warped - current).abs().mean(1, keepdim=True)
                    errors[name].append(float((difference * trusted).sum() / trusted.sum()))
    assert len(errors["mesh"]) >= 10
    mean = {k: float(np.mean(v)) for k, v in errors.items()}
    # Measured: none 8.0, box 5.6, mesh 3.9 levels of 255.
    assert mean["mesh"] < 0.85 * mean["box"] < 0.85 * mean["none"], mean


@pytest.mark.slow
def test_a_face_unmoved_has_no_motion_and_a_missing_one_no_trust(analysed) -> None:
    model, frames = analysed
    face = frames[5].faces[0]
    motion = face_motion(model, [face, face], [[face, None], [None, face]], "mesh")
    assert motion.flow.shape[:2] == (2, 2)
    assert float(motion.flow[0, 0].abs().max()) < 0.05
    # Every surface point stays in view: full trust on the mesh, the box's half trust off it.
    values = motion.confidence[0, 0].flatten()
    on_mesh = (values - face.confidence).abs() < 1e-3
    off_mesh = (values - OUTSIDE_MESH_TRUST * face.confidence).abs() < 1e-3
    assert bool((on_mesh | off_mesh).all()) and 0.2 < float(on_mesh.float().mean()) < 0.95
    assert float(motion.confidence[0, 1].max()) == 0.0 and float(motion.confidence[1, 0].max()) == 0
    with pytest.raises(ValueError, match="registration"):
        face_motion(model, [face], [[face]], "optical")
