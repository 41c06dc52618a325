"""extract-priors' parts: input listing and source ids, per-source degradation, region crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesr_video.dataset.degrade.per_source import source_degrader
from facesr_video.dataset.extract_log import ExtractLog, SkipRecord
from facesr_video.dataset.extract_samples import crop_region
from facesr_video.dataset.inputs import list_inputs, read_image
from facesr_video.dataset.store import LayoutInfo, StoreReader, StoreSample, StoreWriter
from facesr_video.errors import InputError
from facesr_video.faces.align import TEMPLATE68, Alignment, align, crop_image


def test_folders_are_listed_recursively_with_stable_source_ids(tmp_path: Path) -> None:
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ("b.jpg", "a.PNG", "sub/c.jpeg", "clip.mp4", ".hidden/x.jpg", ".y.jpg"):
        (root / name).write_bytes(b"x")
    (root / "README.md").write_text("notes")
    video = tmp_path / "talk.mkv"
    video.write_bytes(b"x")
    listing = list_inputs([root, video])
    got = [(i.kind, i.source) for i in listing.items]
    assert got == [
        ("image", "faces/a.PNG"),
        ("image", "faces/b.jpg"),
        ("video", "faces/clip.mp4"),
        ("image", "faces/sub/c.jpeg"),
        ("video", "talk.mkv"),
    ]
    assert listing.empty == ()


def test_missing_input_and_source_clashes_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input not found"):
        list_inputs([tmp_path, tmp_path / "gone.mp4"])
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="same source id"):
        list_inputs([tmp_path / "one" / "clip.mp4", tmp_path / "two" / "clip.mp4"])
    same = list_inputs([tmp_path / "one" / "clip.mp4", tmp_path / "one" / "clip.mp4"])
    assert len(same.items) == 1


def test_an_empty_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    listing = list_inputs([tmp_path / "nothing"])
    assert listing.items == () and listing.empty[0][1] == "folder holds no images or videos"


def test_read_image_gives_rgb_and_refuses_non_images(tmp_path: Path) -> None:
    Image.new("L", (10, 7), 200).save(tmp_path / "grey.png")
    rgb = read_image(tmp_path / "grey.png")
    assert rgb.shape == (7, 10, 3) and rgb.dtype == np.uint8 and (rgb == 200).all()
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(InputError, match="unreadable image"):
        read_image(tmp_path / "text.jpg")


def test_realistic_degradation_is_reproducible_per_source() -> None:
    rng = np.random.default_rng(0)
    hr = [rng.integers(0, 256, (64, 48, 3), dtype=np.uint8) for _ in range(3)]
    degrader = source_degrader("realistic", 4, 7, "a.mp4")
    first = [degrader(f) for f in hr]
    a = source_degrader("realistic", 4, 7, "a.mp4")
    assert all(np.array_equal(a(f), g) for f, g in zip(hr, first, strict=True))
    other = source_degrader("realistic", 4, 7, "b.mp4")
    assert not np.array_equal(other(hr[0]), first[0])
    assert first[0].shape == (16, 12, 3)
    # parameters are fixed per source, the noise is not: frame 0 twice differs in a sequence
    again = source_degrader("realistic", 4, 7, "a.mp4")
    assert np.array_equal(again(hr[0]), first[0]) and not np.array_equal(again(hr[0]), first[0])
    assert source_degrader("bicubic", 4, 7, "a.mp4").config is None


@pytest.mark.parametrize("offset", [(0.0, 0.0), (-30.0, -20.0), (60.0, 25.0)])
def test_crop_region_matches_crop_image(offset: tuple[float, float]) -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    landmarks = TEMPLATE68 * 50 + np.array([55.0, 30.0]) + np.array(offset)
    angle = 0.2
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (landmarks - 80) @ rot.T + 80
    alignment = align(landmarks, 48)
    big = alignment.scaled(4)
    # equal up to float rounding of the shifted translation (at most one grey level, rarely)
    for image, where in ((frame, alignment), (np.repeat(np.repeat(frame, 4, 0), 4, 1), big)):
        diff = np.abs(crop_region(image, where).astype(int) - crop_image(image, where))
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert isinstance(big, Alignment) and big.crop_size == 192


def test_extract_log_round_trip(tmp_path: Path) -> None:
    log = ExtractLog(tmp_path)
    log.set_skipped("a.jpg", [SkipRecord("a.jpg", "no face")])
    log.mark_done(["a.jpg", "b.mp4"], {"b.mp4": 3}, "every=1")
    log.save()
    back = ExtractLog(tmp_path)
    assert back.is_done("b.mp4", "every=1") and not back.is_done("b.mp4", "every=2")
    assert back.done["b.mp4"]["samples"] == 3
    assert back.skipped == {"a.jpg": [SkipRecord("a.jpg", "no face", 1)]}
    (tmp_path / "extract.json").write_text("{damaged")
    assert ExtractLog(tmp_path).done == {}


def _sample(rng: np.random.Generator, frame: int, n: int = 16, scale: int = 4) -> StoreSample:
    big = n * scale
    return StoreSample(
        hr=rng.integers(0, 255, (big, big, 3), dtype=np.uint8),
        lr=rng.integers(0, 255, (n, n, 3), dtype=np.uint8),
        priors=rng.random((2, big, big)).astype(np.float16),
        coeffs=rng.random(4).astype(np.float32),
        source="clip.mp4",
        track=0,
        frame=frame,
    )


def test_store_shards_and_what_is_held_are_bounded_by_bytes(tmp_path: Path) -> None:
    # extract-priors used to hold up to 512 samples (~4 GB of 720p faces) before writing.
    rng = np.random.default_rng(0)
    samples = [_sample(rng, frame) for frame in range(10)]
    one = samples[0].stored_bytes
    assert one == 64 * 64 * 3 + 16 * 16 * 3 + 2 * (2 * 64 * 64) + 4 * 4
    bound = 3 * one + one // 2
    layout = LayoutInfo("test-v1", ("a", "b"), 4)
    held = []
    with StoreWriter(tmp_path / "s", 4, layout, shard_size=1000, shard_bytes=bound) as writer:
        for sample in samples:
            writer.append(sample)
            held.append(writer.buffered_bytes)
    assert max(held) <= bound
    reader = StoreReader(tmp_path / "s")
    assert [len(s.keys) for s in reader.manifest.shards] == [3, 3, 3, 1]
    for shard in reader.manifest.shards:
        assert (tmp_path / "s" / shard.file).stat().st_size <= bound + 4096  # + header
    assert all(np.array_equal(reader[i].priors, s.priors) for i, s in enumerate(samples))
