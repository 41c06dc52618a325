"""VideoWriter: exact frames and pts, tags kept, audio copied or transcoded, OUT atomic."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from facesr_video.errors import OutputError
from facesr_video.video.decode import VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter, choose_pix_fmt
from facesr_video.video.probe import probe, stream_tags
from tests.video.clips import read_audio, read_video, write_clip

FAST = EncodeSettings(preset="ultrafast")


def _copy(src: Path, out: Path, settings: EncodeSettings = FAST) -> VideoWriter:
    target = VideoTarget.from_info(probe(src), scale=1)
    with VideoWriter(out, target, settings, audio_from=src) as writer:
        writer.write_all(VideoDecoder(src))
    return writer


def test_vfr_pts_and_duration_kept(tmp_path: Path) -> None:
    pts = [0, 3000, 9000, 10000, 30000, 31500, 45000]
    src = write_clip(tmp_path / "vfr.mp4", pts, duration=1500)
    _copy(src, tmp_path / "out.mp4")
    a, b = read_video(src), read_video(tmp_path / "out.mp4")
    assert b.times == [Fraction(p, 90000) for p in pts]
    assert b.times == a.times
    assert b.end == a.end


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_vfr_with_b_frames_keeps_the_last_frame_duration(tmp_path: Path, suffix: str) -> None:
    # mp4/mov time a track by decode timestamps: with B-frames the last packet is not the last
    # frame, so its own duration used to end the video early (0.193 s here instead of 0.267 s).
    pts = [0, 3000, 4500, 9000, 9900, 15000, 21000]
    src = write_clip(tmp_path / "vfr.mp4", pts)
    out = tmp_path / f"out{suffix}"
    _copy(src, out, EncodeSettings(preset="veryfast"))  # veryfast: B-frames
    end = float(read_video(src).end)  # the last frame's pts + duration: 0.267 s
    assert read_video(out).times == [Fraction(p, 90000) for p in pts]
    assert probe(src).video.duration == pytest.approx(end)
    assert probe(out).video.duration == pytest.approx(end)
    assert probe(out).duration == pytest.approx(end, abs=1e-6)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_stream_language_and_title_kept(tmp_path: Path, suffix: str) -> None:
    src = write_clip(
        tmp_path / "tagged.mkv",
        [i * 3000 for i in range(10)],
        audio_seconds=0.4,
        video_tags={"language": "fra", "title": "Entretien"},
        audio_tags={"language": "fra", "title": "Commentaire"},
    )
    out = tmp_path / f"out{suffix}"
    _copy(src, out)
    with av.open(str(out)) as container:
        video, audio = (stream_tags(dict(s.metadata)) for s in container.streams)
    assert (video["language"], video["title"]) == ("fra", "Entretien")
    assert (audio["language"], audio["title"]) == ("fra", "Commentaire")


def test_stream_tags_leave_out_what_describes_the_old_encoding() -> None:
    tags = {
        "language": "fra",
        "name": "Commentaire",  # how mp4/mov read a title back
        "DURATION": "00:00:01.000000000",
        "ENCODER": "Lavc",
        "vendor_id": "[0][0][0][0]",
        "_STATISTICS_TAGS": "BPS DURATION",
        "handler_name": "SoundHandler",
    }
    assert stream_tags(tags) == {
        "language": "fra",
        "title": "Commentaire",
        "handler_name": "SoundHandler",
    }


def test_rotation_and_ten_bit_carried(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "r.mp4", [0, 3000, 6000], pix_fmt="yuv420p10le", rotation=-90)
    _copy(src, tmp_path / "out.mkv")
    out = probe(tmp_path / "out.mkv")
    assert out.video.rotation == -90
    assert out.video.pix_fmt == "yuv420p10le" and out.video.bit_depth == 10


def test_aac_copied_packet_for_packet(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "a.mp4", [i * 3000 for i in range(30)], audio_seconds=1.0)
    writer = _copy(src, tmp_path / "out.mov")
    assert [p.action for p in writer.audio_plans] == ["copy"]
    (a,), (b,) = read_audio(src), read_audio(tmp_path / "out.mov")
    assert b.payloads == a.payloads
    assert abs(b.end - a.end) <= a.frame_seconds


def test_webm_transcodes_aac_to_opus(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "a.mp4", [i * 3000 for i in range(30)], audio_seconds=1.0)
    out = tmp_path / "out.webm"
    writer = _copy(src, out, EncodeSettings(codec="libsvtav1", preset="12"))
    assert [(p.action, p.target_codec) for p in writer.audio_plans] == [("transcode", "libopus")]
    assert "transcoded to libopus" in writer.audio_plans[0].describe()
    (a,), (b,) = read_audio(src), read_audio(out)
    assert b.codec == "opus"
    assert abs((b.end - b.start) - (a.end - a.start)) <= max(a.frame_seconds, b.frame_seconds)
    assert len(read_video(out).times) == 30


def test_failure_leaves_no_output_and_no_temp(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "s.mp4", [0, 3000, 6000])
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    target = VideoTarget.from_info(probe(src), scale=1)
    with pytest.raises(RuntimeError), VideoWriter(out, target, FAST, audio_from=src) as writer:
        for frame in VideoDecoder(src):
            writer.write(frame)
            raise RuntimeError("stage failed")
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "s.mp4"]


def test_absent_codec_is_an_output_error(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "s.mp4", [0, 3000])
    target = VideoTarget.from_info(probe(src), scale=1)
    with (
        pytest.raises(OutputError, match="unknown codec"),
        VideoWriter(tmp_path / "o.mp4", target, EncodeSettings(codec="mpeg4")),
    ):
        pass
    with (
        pytest.raises(OutputError, match="webm cannot hold"),
        VideoWriter(tmp_path / "o.webm", target, FAST),
    ):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mp4"]


def test_pix_fmt_follows_input() -> None:
    assert choose_pix_fmt("libx264", "yuv420p10le", 10) == ("yuv420p10le", False)
    assert choose_pix_fmt("libsvtav1", "yuv422p10le", 10) == ("yuv420p10le", False)
    assert choose_pix_fmt("libx264", "yuvj420p", 8) == ("yuv420p", True)
    assert choose_pix_fmt("libsvtav1", "yuv444p", 8) == ("yuv420p", False)
