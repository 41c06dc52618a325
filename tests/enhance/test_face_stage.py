"""The face path of enhance, end to end on the sample clip and on bad options.

The network here is built in the test (untrained or a bicubic stand-in): these tests check the
pipeline's mechanics (every frame kept, faces found and pasted exactly where they belong, errors),
not the trained network's quality, which the benchmarks and MODEL_CARD.md measure.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facesr_video.cli import main
from facesr_video.device import resolve_device
from facesr_video.enhance.face_stage import FaceOptions, FaceStage, ThreadLoad, face_weight
from facesr_video.enhance.prepare import resolve_network
from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.errors import DeviceError, ModelError
from facesr_video.render.layout import CHANNELS_V1, LAYOUT_VERSION
from facesr_video.sr.network import create_model
from facesr_video.sr.runtimes import openvino_available
from facesr_video.sr.weights import save_model
from tests.conftest import ICT_NPZ, REPO, require

SAMPLE = REPO / "samples" / "crema_d_1001_HAP_120x90.mp4"


def make_weights(path: Path, scale: int = 4, prior_mode: str = "all") -> Path:
    torch.manual_seed(0)
    net = create_model(
        "sam-light", scale=scale, prior_mode=prior_mode, prior_channels=13, coeff_dim=186
    )
    save_model(net, path, LAYOUT_VERSION, CHANNELS_V1, recipe={"note": "untrained, for tests"})
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture
def face_model_env(monkeypatch):
    monkeypatch.setenv("FACESR_FACE_MODEL", str(require(ICT_NPZ)))


@pytest.mark.slow
def test_enhance_face_path_keeps_every_frame_and_touches_only_faces(tmp_path, face_model_env):
    weights = make_weights(tmp_path / "w4.safetensors")
    plain = tmp_path / "plain.mp4"
    ours = tmp_path / "ours.mp4"
    report = tmp_path / "report.json"
    enhance(EnhanceOptions(SAMPLE, plain, 4, quiet=True, faces=None, crf=0))
    summary = enhance(
        EnhanceOptions(
            SAMPLE,
            ours,
            4,
            quiet=True,
            crf=0,
            report=report,
            faces=FaceOptions(weights=weights, smooth_lag=3),
        )
    )
    plain_frames, our_frames = read_frames(plain), read_frames(ours)
    assert len(our_frames) == len(plain_frames) == 56
    assert our_frames[0].shape == (360, 480, 3)
    assert summary.faces_enhanced > 40 and summary.tracks >= 1
    data = json.loads(report.read_text())
    assert data["frames"] == 56 and data["tracks"][0]["frames"] > 40
    assert set(data["stage_seconds"]) >= {"detect", "fit", "render", "sr", "blend"}
    runtime = data["network_runtime"]  # auto: OpenVINO on the CPU where installed
    assert runtime["name"] == ("openvino" if openvino_available() else "torch")
    assert runtime["precision"] in {"fp32", "bf16"}
    # Faces changed, the rest of the frame is the plain upscale (lossless encode: crf 0).
    middle_plain, middle_ours = plain_frames[28].astype(int), our_frames[28].astype(int)
    changed = np.abs(middle_plain - middle_ours).max(axis=2) > 2
    assert changed.any()
    ys, xs = np.nonzero(changed)
    assert xs.max() - xs.min() < 300 and ys.max() - ys.min() < 300  # one face region
    assert not changed[:, :20].any() and not changed[:20].any()  # frame borders untouched


class BicubicNet(torch.nn.Module):
    """Stand-in network that upscales its input bicubically: pasting it must change nothing."""

    def __init__(self, config):
        super().__init__()
        self.config = config

    def forward(self, lr, priors=None, coeffs=None):
        return F.interpolate(
            lr, scale_factor=self.config.scale, mode="bicubic", align_corners=False
        )


@pytest.mark.slow
def test_paste_is_subpixel_exact_with_a_bicubic_network(tmp_path, face_model_env):
    from facesr_video.enhance.background import upscale_frame
    from facesr_video.enhance.prepare import resolve_face_model
    from facesr_video.video.decode import VideoDecoder

    weights = make_weights(tmp_path / "w4.safetensors")
    net, info = resolve_network(weights, 4, torch.device("cpu"))
    stage = FaceStage(
        resolve_face_model(None),
        BicubicNet(net.config),
        info,
        4,
        FaceOptions(smooth_lag=2, runtime="torch"),  # a stand-in module: torch runs it as is
        torch.device("cpu"),
    )
    boxes: dict[int, list] = {}  # frame index -> the landmark boxes of the faces it pasted
    upscaled_here: list[bool] = []  # per frame: was the background made on the analysis side?
    stage.load = ThreadLoad(worker=1e3)  # a worker far busier than the analysis side
    enhance_frame = stage.enhance_frame

    def recording(analysed, neighbours=(), rendered=None, upscaled=None):
        boxes[analysed.index] = [face.observation.box for face in analysed.faces]
        # Priors come made from the analysis thread; the background where that side is idler.
        assert rendered is not None and set(rendered) == {f.track_id for f in analysed.faces}
        assert upscaled is None or upscaled.shape[:2] == (
            4 * analysed.payload.rgb.shape[0],
            4 * analysed.payload.rgb.shape[1],
        )
        upscaled_here.append(upscaled is not None)
        return enhance_frame(analysed, neighbours, rendered, upscaled)

    stage.enhance_frame = recording
    frames = list(VideoDecoder(SAMPLE))[:12]
    outputs = list(stage(iter(frames)))
    assert [o.index for o in outputs] == [f.index for f in frames]
    assert stage.faces_enhanced > 0 and all(len(boxes[f.index]) == 1 for f in frames)
    assert stage.load.analysis > 0 and stage.load.worker > 1e3
    assert all(upscaled_here)  # so the analysis side made every background
    for frame, out in zip(frames, outputs, strict=True):
        plain = upscale_frame(frame.rgb, 4).astype(np.float64)
        x0, y0, x1, y1 = (int(round(4 * v)) for v in boxes[frame.index][0])
        assert 0 <= x0 < x1 - 40 and x1 + 1 < plain.shape[1] and 0 <= y0 < y1 - 40
        face = np.s_[y0:y1, x0:x1]
        diff = np.abs(out.rgb.astype(np.float64)[face] - plain[face]).mean()
        # What a paste one output pixel (a quarter of an input pixel) to the side would give.
        shifted = np.abs(plain[y0:y1, x0 + 1 : x1 + 1] - plain[face]).mean()
        # Bicubic of a warped crop differs from bicubic of the frame only by interpolation
        # (measured: ~0.75 levels inside the face, ~3.8 for the one-pixel shift).
        assert diff < 1.5 and diff < shifted / 2.5, (frame.index, diff, shifted)


def test_face_weight_trusts_detections_more_than_predictions():
    class Obs:
        def __init__(self, quality):
            self.quality = quality

    class Fit:
        reliable = True

    class Face:
        def __init__(self, confidence, quality, reliable=True):
            self.confidence, self.observation = confidence, Obs(quality)
            self.reliable = reliable

    assert face_weight(Face(1.0, 1.0)) == 1.0
    assert face_weight(Face(1.0, 0.25)) == 0.5
    assert face_weight(Face(0.4, 1.0)) == 0.4
    assert face_weight(Face(1.0, 1.0, reliable=False)) == 0.0


def test_cuda_asked_for_but_absent_is_one_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(DeviceError):
        resolve_device("tpu")


def test_weights_for_another_scale_are_refused(tmp_path):
    weights = make_weights(tmp_path / "w8.safetensors", scale=8)
    with pytest.raises(ModelError, match="x8 model"):
        resolve_network(weights, 4, torch.device("cpu"))
    with pytest.raises(ModelError, match="not found"):
        resolve_network(tmp_path / "missing.safetensors", 4, torch.device("cpu"))


def test_missing_face_model_names_both_ways_to_install(tmp_path, monkeypatch, capsys):
    weights = make_weights(tmp_path / "w4.safetensors")
    monkeypatch.delenv("FACESR_FACE_MODEL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out.mp4"
    code = main(["enhance", str(SAMPLE), str(out), "--scale", "4", "--weights", str(weights)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "models install" in err[0] and "--from" in err[0]
    assert not out.exists()


@pytest.mark.slow
def test_scale_two_runs_the_x4_network_on_the_faces(tmp_path, face_model_env):
    plain, ours = tmp_path / "plain.mp4", tmp_path / "ours.mp4"
    assert main(["-q", "enhance", str(SAMPLE), str(plain), "-s", "2", "--faces", "none"]) == 0
    assert main(["-q", "enhance", str(SAMPLE), str(ours), "-s", "2", "--crf", "0"]) == 0
    plain_frame, our_frame = read_frames(plain)[30], read_frames(ours)[30]
    assert our_frame.shape == plain_frame.shape == (180, 240, 3)
    changed = np.abs(plain_frame.astype(int) - our_frame.astype(int)).max(axis=2) > 4
    assert 100 < changed.sum() < 0.5 * changed.size  # the face, not the whole frame


class CheckerNet(BicubicNet):
    """Bicubic plus a fine checkerboard: high frequencies that survive the colour match, so the
    pixels a paste mode touches are visible."""

    def forward(self, lr, priors=None, coeffs=None):
        out = super().forward(lr)
        checker = (torch.arange(out.shape[-1]) % 2).float()
        return out + 0.1 * (checker[None, :] - checker[:, None]).abs()


@pytest.mark.slow
def test_crop_paste_covers_the_whole_crop_mesh_paste_only_the_face(tmp_path, face_model_env):
    from facesr_video.enhance.background import upscale_frame
    from facesr_video.enhance.prepare import resolve_face_model
    from facesr_video.video.decode import VideoDecoder

    weights = make_weights(tmp_path / "w4.safetensors")
    net, info = resolve_network(weights, 4, torch.device("cpu"))
    frames = list(VideoDecoder(SAMPLE))[:8]
    changed = {}
    for mode in ("crop", "mesh"):
        stage = FaceStage(
            resolve_face_model(None),
            CheckerNet(net.config),
            info,
            4,
            FaceOptions(smooth_lag=2, paste=mode, runtime="torch"),  # a stand-in module
            torch.device("cpu"),
        )
        last = list(stage(iter(frames)))[-1]
        plain = upscale_frame(frames[-1].rgb, 4).astype(int)
        changed[mode] = np.abs(last.rgb.astype(int) - plain).max(axis=2) > 4
    assert changed["mesh"].sum() > 500
    assert changed["crop"].sum() > 1.3 * changed["mesh"].sum()
    assert (changed["mesh"] & ~changed["crop"]).sum() < 0.02 * changed["mesh"].sum()
