"""Still images through enhance: one frame through the same stages, written in OUT's format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesr_video.cli import main
from facesr_video.enhance.still import FORMATS
from tests.conftest import DATA, ICT_NPZ, require

PLAIN = ["--scale", "2", "--faces", "none"]


def _image(path: Path, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Path:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (size[1], size[0], len(mode)), dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)
    return path


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_image_in_same_format_out(tmp_path: Path, suffix: str) -> None:
    src = _image(tmp_path / f"in{suffix}")
    out = tmp_path / f"out{suffix}"
    assert main(["enhance", str(src), str(out), *PLAIN]) == 0
    with Image.open(out) as image:
        assert image.size == (80, 60)
        assert image.format == FORMATS[suffix]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])


def test_png_keeps_alpha_and_jpg_to_png_converts(tmp_path: Path) -> None:
    src = _image(tmp_path / "in.png", mode="RGBA")
    out = tmp_path / "out.png"
    assert main(["enhance", str(src), str(out), *PLAIN]) == 0
    with Image.open(out) as image:
        assert image.mode == "RGBA" and image.size == (80, 60)
    jpg = _image(tmp_path / "in.jpg")
    assert main(["enhance", str(jpg), str(tmp_path / "as.png"), *PLAIN]) == 0
    with Image.open(tmp_path / "as.png") as image:
        assert image.format == "PNG"


def test_image_to_a_video_name_is_refused(tmp_path: Path, capsys) -> None:
    src = _image(tmp_path / "in.jpg")
    assert main(["enhance", str(src), str(tmp_path / "out.mp4"), *PLAIN]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "still image" in err[0]
    assert not (tmp_path / "out.mp4").exists()


def test_unreadable_image_is_one_line(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.png"
    src.write_text("not an image")
    assert main(["enhance", str(src), str(tmp_path / "out.png"), *PLAIN]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable image" in err[0]


def test_images_in_a_batch(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _image(folder / "a.jpg")
    _image(folder / "b.png")
    out = tmp_path / "out"
    assert main(["-q", "enhance", str(folder), "--out-dir", str(out), *PLAIN]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a.jpg", "b.png"]


@pytest.mark.slow
def test_face_photo_through_the_face_path(tmp_path: Path) -> None:
    require(ICT_NPZ)
    photo = next(iter(sorted(require(DATA / "faces" / "congress").glob("*.jpg"))))
    out = tmp_path / "face_x4.jpg"
    args = ["-q", "enhance", str(photo), str(out), "-s", "4", "--face-model", str(ICT_NPZ)]
    assert main([*args, "--threads", "1", "--report", str(tmp_path / "r.json")]) == 0
    with Image.open(photo) as before, Image.open(out) as after:
        assert after.size == (before.width * 4, before.height * 4)
    import json

    assert json.loads((tmp_path / "r.json").read_text())["faces_enhanced"] >= 1
