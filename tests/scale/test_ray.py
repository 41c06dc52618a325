"""--engine ray on a local Ray with 2 CPUs: the same segments as Ray tasks, the same output."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.errors import FacesrError
from facesr_video.scale.ray_engine import import_ray
from facesr_video.scale.run import ScaleOptions, enhance_in_segments
from tests.scale.clips import write_gop_clip
from tests.scale.test_workers import assert_same_video


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install ray)")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(tmp_path: Path, local_ray) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=60, gop=10)
    local, on_ray = tmp_path / "local.mp4", tmp_path / "ray.mp4"
    options = EnhanceOptions(src, local, 2, quiet=True, faces=None)
    enhance(options)
    summary = enhance_in_segments(
        EnhanceOptions(src, on_ray, 2, quiet=True, faces=None), ScaleOptions(2, engine="ray")
    )
    assert summary.frames == 60
    assert local_ray.is_initialized()  # a Ray it did not start is left running
    assert_same_video(local, on_ray)


def test_without_ray_the_error_says_how_to_install_it(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(FacesrError, match="needs Ray") as caught:
        import_ray()
    assert "facesr-video[ray]" in caught.value.one_line()
