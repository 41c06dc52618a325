"""Files written whole: a failed or interrupted write leaves the old file and no temporary."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facesr_video.errors import OutputError
from facesr_video.files import write_text_whole, write_whole
from facesr_video.training.checkpoints import save_checkpoint


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, failure: BaseException
) -> None:
    target = tmp_path / "weights.safetensors"
    target.write_text("old")

    def half_then_fail(partial: Path) -> None:
        partial.write_text("half")
        raise failure

    with pytest.raises(type(failure)):
        write_whole(target, half_then_fail)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path, target.name) == []


def test_a_whole_write_replaces_the_file_with_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    write_whole(target, lambda partial: partial.write_text("new"), sync=True)
    assert target.read_text() == "new" and _leftovers(tmp_path, target.name) == []
    assert target.stat().st_mode & 0o644 == 0o644  # not mkstemp's 0600


def test_text_write_failure_is_one_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        write_text_whole(tmp_path / "missing" / "report.md", "text")


def test_checkpoint_interrupted_mid_save_leaves_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoint.pt"
    state = {"model": {"w": torch.ones(2)}, "step": 1}
    assert save_checkpoint(path, state)

    def interrupted(obj: object, f: Path) -> None:
        Path(f).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"model": {"w": torch.zeros(2)}, "step": 2})
    assert torch.load(path, weights_only=False)["step"] == 1
    assert _leftovers(tmp_path, path.name) == []
