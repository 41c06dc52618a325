"""tools/gpu_run.py's plan: which networks it trains, how it scores them, what comes back."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "gpu_run.py"


@pytest.fixture(scope="module")
def gpu_run():
    spec = importlib.util.spec_from_file_location("gpu_run", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_run"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_run"]


def _args(gpu_run, tmp_path: Path, *more: str):
    return gpu_run.parse_args(
        ["--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"), *more]
    )


def test_multi_frame_runs_train_beside_the_single_frame_one(gpu_run, tmp_path) -> None:
    args = _args(gpu_run, tmp_path, "--frames", "5", "--box-too", "--no-priors-too")
    runs = {r.name: r for r in gpu_run.train_runs(args, [4, 8])}
    assert set(runs) == {
        f"sam-base-x{s}{tail}" for s in (4, 8) for tail in ("", "-no-priors", "-f5", "-f5-box")
    }
    assert runs["sam-base-x8-f5"].frames == 5 and runs["sam-base-x8-f5"].registration == "mesh"
    assert runs["sam-base-x4-f5-box"].registration == "box"
    assert runs["sam-base-x4-no-priors"].priors == "none" and runs["sam-base-x4"].frames == 1
    plain = _args(gpu_run, tmp_path)
    assert [r.name for r in gpu_run.train_runs(plain, [4])] == ["sam-base-x4"]


def test_even_windows_are_refused(gpu_run, tmp_path) -> None:
    with pytest.raises(SystemExit):
        _args(gpu_run, tmp_path, "--frames", "4")


def test_a_multi_frame_network_is_scored_against_its_single_frame_sibling(
    gpu_run, tmp_path
) -> None:
    args = _args(gpu_run, tmp_path, "--frames", "5", "--box-too", "--scales", "4")
    runner = gpu_run.Runner(args)
    weights = {r.name: tmp_path / f"{r.name}.safetensors" for r in gpu_run.train_runs(args, [4])}
    configs = {tag: options for tag, _, options in runner._eval_configs(weights)}
    single = str(weights["sam-base-x4"])
    assert configs["sam-base-x4"] == ["--weights", single]
    mesh, box = configs["sam-base-x4-f5"], configs["sam-base-x4-f5-box"]
    assert mesh[mesh.index("--weights-single-frame") + 1] == single
    assert mesh[mesh.index("--registration") + 1] == "mesh"
    assert box[box.index("--registration") + 1] == "box"


def test_what_comes_back_fits_the_device_tool_ablations_last(gpu_run, tmp_path) -> None:
    args = _args(gpu_run, tmp_path, "--frames", "5", "--box-too", "--no-priors-too")
    runner = gpu_run.Runner(args)
    weights = {}
    for run in gpu_run.train_runs(args, [4, 8]):  # 8 networks: more than can come back
        weights[run.name] = tmp_path / f"{run.name}.safetensors"
        weights[run.name].write_bytes(b"weights")
    runner.pack(weights)
    back = sorted(p.name for p in args.out.iterdir())
    assert len(back) <= gpu_run.OUT_FILES
    for kept in ("sam-base-x4", "sam-base-x8", "sam-base-x4-f5", "sam-base-x8-f5"):
        assert f"{kept}.safetensors" in back
    assert not any("-box" in name for name in back)
