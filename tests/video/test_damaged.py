"""Damaged but readable input: every decodable frame kept, the damage said, never a traceback.

Audio timestamps that go backwards are re-timed; a demuxer that stops early is measured against
the duration the container announces."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from facesr_video.cli import main
from facesr_video.video.decode import VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter
from facesr_video.video.probe import probe
from tests.video.clips import break_video_block, move_audio_block, read_audio, write_clip

FRAMES = 91


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mkv of 91 frames (30 fps) with AAC."""
    folder = tmp_path_factory.mktemp("damaged")
    pts = [n * 3000 for n in range(FRAMES)]
    return write_clip(folder / "clip.mkv", pts, size=(96, 64), audio_seconds=FRAMES / 30)


@pytest.fixture(scope="module")
def damaged(clip: Path) -> Path:
    """The clip with its audio block 80% of the way in claiming to be 300 ms early (its header
    damaged), so audio time goes backwards around video frame 80."""
    return move_audio_block(clip, clip.with_name("damaged.mkv"), where=0.8, milliseconds=300)


def _audio_dts(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.dts for p in container.demux(audio=0) if p.size]


def test_the_damage_goes_back_in_time(damaged: Path) -> None:
    dts = _audio_dts(damaged)
    assert sum(b < a for a, b in zip(dts, dts[1:], strict=False)) == 1


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_backwards_audio_is_retimed_and_every_frame_kept(
    damaged: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"out{suffix}"
    target = VideoTarget.from_info(probe(damaged), scale=1)
    with VideoWriter(out, target, EncodeSettings(preset="ultrafast"), audio_from=damaged) as w:
        w.write_all(VideoDecoder(damaged))
    assert w.frames_written == FRAMES
    assert (w.audio_repairs.retimed, w.audio_repairs.skipped) == (1, 0)
    (a,), (b,) = read_audio(damaged), read_audio(out)
    assert b.payloads == a.payloads  # every packet kept, untouched
    dts = _audio_dts(out)
    assert all(y > x for x, y in zip(dts, dts[1:], strict=False))


def test_enhance_says_so_in_its_summary(damaged: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.mkv"
    summary = _enhance(damaged, out, capsys)
    assert f"{FRAMES} frames" in summary
    assert "WARNING damaged audio: 1 audio packets with timestamps going backwards" in summary
    assert len(read_audio(out)[0].payloads) == len(read_audio(damaged)[0].payloads)


def _enhance(src: Path, out: Path, capsys) -> str:
    """The summary line of `enhance SRC OUT -s 2 --faces none`, which must succeed."""
    code = main(["enhance", str(src), str(out), "-s", "2", "--faces", "none"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    (summary,) = [line for line in err.splitlines() if line.startswith("wrote ")]
    return summary


def test_a_demuxer_stopping_early_is_measured_and_said(clip: Path, tmp_path: Path, capsys) -> None:
    broken = break_video_block(clip, tmp_path / "broken.mkv", where=0.6)
    decoder = VideoDecoder(broken)
    kept = len(list(decoder))
    assert 0 < kept < FRAMES and decoder.stats.lost == 0  # mkv announces no frame count
    assert decoder.stats.missing_seconds == pytest.approx((FRAMES - kept) / 30, abs=0.002)
    summary = _enhance(broken, tmp_path / "out.mkv", capsys)
    assert f"{kept} frames" in summary
    assert f"WARNING the video ends {(FRAMES - kept) / 30:.2f} s before its container says" in (
        summary
    )


def test_an_intact_clip_warns_of_nothing(clip: Path, tmp_path: Path, capsys) -> None:
    assert "WARNING" not in _enhance(clip, tmp_path / "out.mkv", capsys)
