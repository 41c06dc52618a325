"""`--device` means the same in every command: a device torch has no use for is one error line."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesr_video.cli import main
from tests.dataset.conftest import make_store
from tests.video.clips import write_clip


def _args(command: str, folder: Path) -> list[str]:
    """A command line that would run but for its --device (inputs made here, no shared data)."""
    clip = write_clip(folder / "in.mp4", [i * 3000 for i in range(4)], size=(64, 48))
    if command == "enhance":
        return ["enhance", str(clip), str(folder / "out.mp4"), "--scale", "4"]
    if command == "evaluate":
        return ["evaluate", str(clip), "--scale", "4", "--out", str(folder / "report")]
    if command == "extract-priors":
        return ["extract-priors", str(clip), "--out", str(folder / "store"), "--scale", "4"]
    store = make_store(folder / "store", sources=1, per_source=2)
    return ["train", str(store), "--scale", "4", "--out", str(folder / "run")]


@pytest.mark.parametrize("command", ["enhance", "evaluate", "extract-priors", "train"])
@pytest.mark.parametrize("device", ["tpu", "mps", "cuda:x"])
def test_unusable_device_is_one_line(tmp_path: Path, capsys, command: str, device: str) -> None:
    args = _args(command, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main([*args, "--device", device])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert f"--device {device!r}" in err[0] and "auto, cpu, cuda or cuda:N" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
