"""extract-priors on a real GRID clip: frame sampling, track ids, overlay video, resume."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from facesr_video.dataset.extract import extract_priors
from facesr_video.dataset.extract_options import OVERLAY_DIR, ExtractOptions
from facesr_video.dataset.extract_overlay import overlay_name
from facesr_video.dataset.store import StoreReader
from tests.conftest import DATA, ICT_NPZ, require

CLIP = DATA / "videos" / "grid" / "bbaf2n.mpg"


def _options(out: Path, **more: object) -> ExtractOptions:
    """The GRID clip at x4 with plain bicubic degradation, into `out`."""
    require(CLIP)
    require(ICT_NPZ)
    return ExtractOptions(
        inputs=(CLIP,),
        out=out,
        scale=4,
        face_model=ICT_NPZ,
        degradation="bicubic",
        quiet=True,
        **more,
    )


def test_grid_clip_every_second_frame_with_overlay(tmp_path: Path) -> None:
    options = _options(tmp_path / "store", every=2, max_frames=10, overlay=True)
    summary = extract_priors(options)
    assert summary.frames == 10 and summary.faces_stored == 10
    reader = StoreReader(options.out)
    assert [k.frame for k in reader.keys] == list(range(0, 20, 2))
    assert {k.source for k in reader.keys} == {"bbaf2n.mpg"} and {k.track for k in reader.keys} == {
        0
    }
    sizes = set(reader.lr_sizes)
    assert len(sizes) == 1  # one speaker at one distance: the crop size holds still
    first, last = reader[0], reader[len(reader) - 1]
    assert first.hr.shape[0] == 4 * first.lr.shape[0]
    # smoothed fits of a talking head: neighbouring samples are close, not identical
    assert 0 < np.abs(first.coeffs - reader[1].coeffs).max() < np.abs(first.coeffs).max()
    assert last.priors.shape[0] == len(reader.layout.channels)

    overlay = options.out / OVERLAY_DIR / overlay_name("bbaf2n.mpg")
    with av.open(str(overlay)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (288, 360, 3)

    again = extract_priors(options)
    assert again.faces_stored == 0 and again.already_done == 1
    longer = extract_priors(ExtractOptions(**{**options.__dict__, "max_frames": 12}))
    assert longer.faces_stored == 2 and longer.faces_present == 10
    keys = StoreReader(options.out).keys
    assert len(keys) == len(set(keys)) == 12


def test_a_video_is_written_in_shards_bounded_by_bytes(tmp_path: Path) -> None:
    """Samples of one video go to disk a shard at a time (the shard bound), not at the end."""
    bound = 1_500_000  # about three 128x128 HR samples with their 13 prior maps
    options = _options(tmp_path / "store", max_frames=8, shard_bytes=bound)
    summary = extract_priors(options)
    assert summary.faces_stored == 8
    reader = StoreReader(options.out)
    shards = reader.manifest.shards
    assert len(shards) >= 3 and sum(len(s.keys) for s in shards) == 8
    for shard in shards:
        assert (options.out / shard.file).stat().st_size <= bound + 16384  # + header
    assert [k.frame for k in reader.keys] == list(range(8))
    again = extract_priors(options)
    assert again.already_done == 1 and again.faces_stored == 0


def test_neighbours_are_stored_registered_and_missing_at_the_ends(tmp_path: Path) -> None:
    """--neighbours 1 --sample-every 4: every frame fitted, frames 0, 4, 8 stored with t-1, t+1."""
    options = _options(tmp_path / "store", max_frames=9, neighbours=1, sample_every=4)
    summary = extract_priors(options)
    reader = StoreReader(options.out)
    assert summary.frames == 9 and [k.frame for k in reader.keys] == [0, 4, 8]
    assert reader.neighbours == (-1, 1) and reader.manifest.version == 2
    first, middle, last = (reader[i].neighbours for i in range(3))
    assert first is not None and middle is not None and last is not None
    for registration in ("mesh", "box"):
        assert float(first.confidence[registration][0].max()) == 0.0  # no frame -1
        assert float(last.confidence[registration][1].max()) == 0.0  # frame 9 was not read
        assert float(np.asarray(middle.confidence[registration], np.float32).mean()) > 0.3
    # The neighbours' pixels are the next frames' in this sample's crop window: close, not equal.
    hr = reader[1].hr.astype(np.float32)
    difference = np.abs(middle.hr.astype(np.float32) - hr[None]).mean(axis=(1, 2, 3))
    assert (difference > 0.2).all() and (difference < 20).all()
    flow = np.asarray(middle.flow["mesh"], np.float32)
    assert np.isfinite(flow).all() and np.abs(flow).max() < 5  # a talking head moves little


def test_stills_beside_videos_are_stored_without_neighbours(tmp_path: Path) -> None:
    """--neighbours on a mix of videos and photos: a photo has no frames around it, so it is
    stored as a single-frame sample (training gives it none, or moved copies of itself)."""
    still = DATA / "faces" / "congress" / "A000014.jpg"
    require(still)
    options = _options(tmp_path / "store", max_frames=3, neighbours=2)
    options = ExtractOptions(**{**options.__dict__, "inputs": (CLIP, still)})
    summary = extract_priors(options)
    reader = StoreReader(options.out)
    by_source = {k.source: i for i, k in enumerate(reader.keys)}
    assert summary.faces_stored == 4 and reader.neighbours == (-2, -1, 1, 2)
    assert reader[by_source["A000014.jpg"]].neighbours is None
    assert reader[by_source["bbaf2n.mpg"]].neighbours is not None
