"""enhance IN... --out-dir DIR: many inputs, failures reported, reruns resume from the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.enhance.api import enhance_file, run_paths
from facesr_video.enhance.batch import enhance_batch
from facesr_video.enhance.resume import RECORD_NAME
from facesr_video.enhance.run import EnhanceOptions
from facesr_video.errors import InputError
from tests.video.clips import read_video, write_clip

NAMES = ("a.mp4", "b.mkv", "c.mp4")
PLAIN = ["--scale", "2", "--faces", "none", "--preset", "ultrafast"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three small clips and one broken file."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for n, name in enumerate(NAMES):
        write_clip(videos / name, [i * 3000 for i in range(4 + n)], audio_seconds=0.2)
    (videos / "broken.mp4").write_text("not a video\n" * 20)
    return videos


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["enhance", *args])
    return code, capsys.readouterr().err


def _outputs(out: Path) -> dict[str, tuple[int, bytes]]:
    """Visible files in `out`: name -> (mtime_ns, bytes)."""
    return {
        p.name: (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(out.iterdir())
        if not p.name.startswith(".")
    }


def _no_partials(out: Path) -> None:
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [RECORD_NAME]


def test_folder_with_a_broken_file(tmp_path: Path, folder: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(capsys, str(folder), "--out-dir", str(out), *PLAIN)
    assert code == 2
    assert sorted(_outputs(out)) == sorted(NAMES)
    for n, name in enumerate(NAMES):
        assert len(read_video(out / name).times) == 4 + n
    failed = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failed) == 1 and "broken.mp4" in failed[0] and "not a video" in failed[0]
    assert "3 done, 0 skipped, 1 failed" in err
    _no_partials(out)


def test_rerun_skips_complete_outputs_and_redoes_a_removed_one(
    tmp_path: Path, folder: Path, capsys
) -> None:
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    assert _run(capsys, str(folder), "--out-dir", str(out), *PLAIN)[0] == 0
    before = _outputs(out)
    code, err = _run(capsys, str(folder), "--out-dir", str(out), *PLAIN)
    assert code == 0
    assert "3 of 3 outputs already complete" in err and "0 done, 3 skipped" in err
    assert _outputs(out) == before  # not rewritten: same bytes, same mtime
    (out / "b.mkv").unlink()
    code, err = _run(capsys, str(folder), "--out-dir", str(out), *PLAIN)
    assert code == 0 and "1 done, 2 skipped" in err
    after = _outputs(out)
    assert after["a.mp4"] == before["a.mp4"] and after["c.mp4"] == before["c.mp4"]
    assert len(read_video(out / "b.mkv").times) == 5


def test_changed_options_or_input_redo_and_overwrite_redoes_all(
    tmp_path: Path, folder: Path, capsys
) -> None:
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    assert _run(capsys, str(folder), "--out-dir", str(out), *PLAIN)[0] == 0
    code, err = _run(capsys, str(folder), "--out-dir", str(out), *PLAIN, "--crf", "30")
    assert code == 0 and "3 done, 0 skipped" in err  # made with other options: redone
    write_clip(folder / "a.mp4", [i * 3000 for i in range(7)])  # the input changed
    code, err = _run(capsys, str(folder), "--out-dir", str(out), *PLAIN, "--crf", "30")
    assert code == 0 and "1 done, 2 skipped" in err
    assert len(read_video(out / "a.mp4").times) == 7
    code, err = _run(
        capsys, str(folder), "--out-dir", str(out), *PLAIN, "--crf", "30", "--overwrite"
    )
    assert code == 0 and "3 done, 0 skipped" in err


def test_a_file_not_made_here_is_not_replaced(tmp_path: Path, folder: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.mp4").write_bytes(b"the user's own file")
    code, err = _run(capsys, str(folder / "a.mp4"), str(folder / "c.mp4"), str(out), *PLAIN)
    assert code == 2 and "output exists" in err and "--overwrite" in err
    assert (out / "a.mp4").read_bytes() == b"the user's own file"
    assert (out / "c.mp4").is_file()  # the last path, an existing folder, is the out dir


def test_failure_in_the_second_file_then_rerun(tmp_path: Path, folder: Path) -> None:
    """A crash while the second output is being written: the first stays recorded, the second
    leaves nothing; the rerun makes the rest and leaves three complete outputs."""
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    template = EnhanceOptions(Path(), Path(), 2, preset="ultrafast", quiet=True, faces=None)
    calls = []

    def crash_in_second(options, shared):
        calls.append(options.input.name)
        if len(calls) == 2:
            stage = _crash_after(2)
            from facesr_video.enhance.run import enhance

            return enhance(options, stage=stage, shared=shared)
        return enhance_file(options, shared)

    with pytest.raises(KeyboardInterrupt):
        enhance_batch([folder], out, template, crash_in_second)
    assert sorted(_outputs(out)) == ["a.mp4"]
    _no_partials(out)
    summary = enhance_batch([folder], out, template, enhance_file)
    assert [item.status for item in summary.items] == ["skipped", "done", "done"]
    assert sorted(_outputs(out)) == sorted(NAMES)
    _no_partials(out)
    record = json.loads((out / RECORD_NAME).read_text())
    assert sorted(record["outputs"]) == sorted(NAMES)


def _crash_after(frames: int):
    """A frame stage that passes `frames` frames on and then is interrupted (Ctrl-C)."""
    from facesr_video.enhance.background import upscale_frames

    def stage(source):
        for frame in upscale_frames(source, 2, "bicubic"):
            if frame.index == frames:
                raise KeyboardInterrupt
            yield frame

    return stage


def test_name_clash_is_refused_before_any_work(tmp_path: Path, folder: Path, capsys) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write_clip(other / "a.mp4", [0, 3000])
    out = tmp_path / "out"
    code, err = _run(capsys, str(folder), str(other), "--out-dir", str(out), *PLAIN)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "would both be written as" in lines[0], lines
    assert not out.exists()


def test_globs_are_expanded_and_unmatched_ones_reported(
    tmp_path: Path, folder: Path, capsys
) -> None:
    out = tmp_path / "out"
    pattern = str(folder / "*.mp4")
    code, err = _run(capsys, pattern, str(tmp_path / "none*.mov"), "--out-dir", str(out), *PLAIN)
    assert code == 2 and "no videos or images match" in err
    assert sorted(_outputs(out)) == ["a.mp4", "c.mp4"]  # broken.mp4 matched too, and failed


def test_recursive_descends_and_hidden_files_are_skipped(tmp_path: Path, capsys) -> None:
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    write_clip(top / "one.mp4", [0, 3000])
    write_clip(top / "sub" / "two.mp4", [0, 3000])
    write_clip(top / ".hidden.mp4", [0, 3000])
    out = tmp_path / "out"
    assert _run(capsys, str(top), "--out-dir", str(out), *PLAIN)[0] == 0
    assert sorted(_outputs(out)) == ["one.mp4"]
    assert _run(capsys, str(top), "-r", "--out-dir", str(out), *PLAIN)[0] == 0
    assert sorted(_outputs(out)) == ["one.mp4", "two.mp4"]


def test_single_file_options_are_refused_in_batch(tmp_path: Path, folder: Path, capsys) -> None:
    args = [str(folder), "--out-dir", str(tmp_path / "out"), *PLAIN]
    code, err = _run(capsys, *args, "--compare", str(tmp_path / "c.mp4"))
    assert code == 2 and "--compare names one file" in err
    assert not (tmp_path / "out").exists()


def test_out_dir_inside_an_input_folder_is_refused(folder: Path, capsys) -> None:
    code, err = _run(capsys, str(folder), "--out-dir", str(folder / "out"), *PLAIN)
    assert code == 2 and "inside the input folder" in err


def test_three_paths_without_out_dir(tmp_path: Path, folder: Path) -> None:
    template = EnhanceOptions(Path(), Path(), 2, quiet=True, faces=None)
    with pytest.raises(InputError, match="--out-dir"):
        run_paths([folder / "a.mp4", folder / "c.mp4", tmp_path / "x.mp4"], None, template)
