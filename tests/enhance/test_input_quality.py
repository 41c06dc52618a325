"""enhance --input-quality: the shipped network for compressed input where one ships, chosen
from the stream's bits per pixel (auto) or as given; unknown choices are usage errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from facesr_video.cli import main
from facesr_video.enhance import prepare
from facesr_video.enhance.face_stage import FaceOptions, FaceStage
from facesr_video.enhance.run import EnhanceOptions, build_face_stage
from tests.conftest import ICT_NPZ, require
from tests.video.clips import write_coded_clip

CLEAN = "sam-light-x4.safetensors"
COMPRESSED = "sam-light-x4-compressed.safetensors"


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped x4 weights, also standing in for a network for compressed input."""
    shipped = require(prepare.shipped_weights(4))
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copyfile(shipped, folder / CLEAN)
    shutil.copyfile(shipped, folder / COMPRESSED)
    monkeypatch.setattr(prepare, "WEIGHTS_DIR", folder)
    monkeypatch.setenv("FACESR_FACE_MODEL", str(require(ICT_NPZ)))
    return folder


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The weights files the face path loads, in order."""
    paths: list[Path] = []
    load_model = prepare.load_model

    def recording(path, *args, **kwargs):
        paths.append(Path(path))
        return load_model(path, *args, **kwargs)

    monkeypatch.setattr(prepare, "load_model", recording)
    return paths


def _build(
    src: Path, quality: str = "auto", quiet: bool = True, weights: Path | None = None
) -> FaceStage | None:
    face = FaceOptions(
        weights=weights, input_quality=quality, device="cpu", runtime="torch", threads=1
    )
    before = torch.get_num_threads()
    try:
        return build_face_stage(
            EnhanceOptions(src, src.with_suffix(".out.mp4"), 4, quiet=quiet, faces=face)
        )
    finally:
        torch.set_num_threads(before)


def test_auto_picks_the_network_for_the_inputs_coding(
    tmp_path: Path, weights_dir: Path, loaded: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    coded = write_coded_clip(tmp_path / "crf30.mp4", "libx264", {"crf": "30"}, "yuv420p")
    lossless = write_coded_clip(tmp_path / "ffv1.mkv", "ffv1", {}, "yuv444p")
    _build(coded, quiet=False)
    assert loaded[-1] == weights_dir / COMPRESSED
    note = capsys.readouterr().err
    assert "input looks compressed (" in note and "bits/pixel): network for compressed" in note
    _build(lossless, quiet=False)
    assert loaded[-1] == weights_dir / CLEAN
    assert "note:" not in capsys.readouterr().err  # the usual network goes unannounced


def test_explicit_choices_override_the_stream(
    tmp_path: Path, weights_dir: Path, loaded: list[Path]
) -> None:
    coded = write_coded_clip(tmp_path / "crf30.mp4", "libx264", {"crf": "30"}, "yuv420p")
    lossless = write_coded_clip(tmp_path / "ffv1.mkv", "ffv1", {}, "yuv444p")
    _build(coded, "clean")
    assert loaded[-1] == weights_dir / CLEAN
    _build(lossless, "compressed")
    assert loaded[-1] == weights_dir / COMPRESSED


def test_faces_take_the_crops_colours_on_clean_input_only(
    tmp_path: Path, weights_dir: Path, loaded: list[Path]
) -> None:
    """Decided from the stream also with --weights given (which then load whatever the input)."""
    coded = write_coded_clip(tmp_path / "crf30.mp4", "libx264", {"crf": "30"}, "yuv420p")
    lossless = write_coded_clip(tmp_path / "ffv1.mkv", "ffv1", {}, "yuv444p")
    own = weights_dir / CLEAN
    for weights in (None, own):
        on_coded, on_lossless = _build(coded, weights=weights), _build(lossless, weights=weights)
        assert on_coded is not None and on_lossless is not None
        assert on_coded.options.input_quality == "compressed" and not on_coded.colour_from_crop
        assert on_lossless.options.input_quality == "clean" and on_lossless.colour_from_crop
    assert loaded[-2:] == [own, own]
    forced = _build(coded, "clean", weights=own)
    assert forced is not None and forced.colour_from_crop


def test_the_clean_network_where_none_ships_for_compressed_input(
    tmp_path: Path, weights_dir: Path, loaded: list[Path]
) -> None:
    (weights_dir / COMPRESSED).unlink()
    _build(write_coded_clip(tmp_path / "crf30.mp4", "libx264", {"crf": "30"}, "yuv420p"))
    assert loaded[-1] == weights_dir / CLEAN


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--input-quality", "lossy", "use one of auto, clean, compressed"),
        ("--runtime", "tensorrt", "use one of auto, torch, openvino"),
    ],
)
def test_unknown_choices_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, words: str
) -> None:
    src = write_coded_clip(tmp_path / "crf30.mp4", "libx264", {"crf": "30"}, "yuv420p")
    out = tmp_path / "out.mp4"
    code = main(["enhance", str(src), str(out), "--scale", "4", flag, value])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and words in lines[-1] and not out.exists()
    assert "Traceback" not in "\n".join(lines)
