"""--start/--end: only the span's frames, moved to start at 0, with the audio that goes along."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from facesr_video.cli import main
from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.enhance.span import StageNeeds, TimeSpan, frame_span, parse_time
from facesr_video.errors import InputError
from facesr_video.video.index import index_frames
from tests.scale.clips import write_gop_clip
from tests.video.clips import read_audio, read_video


def test_parse_time_reads_seconds_and_clock_times() -> None:
    assert parse_time("12.5") == 12.5
    assert parse_time("1:02.5") == 62.5
    assert parse_time("01:00:02.250") == 3602.25
    for bad in ("abc", "-1", "1:75", "inf", "nan"):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(InputError):
        TimeSpan(2.0, 1.0)


def test_frame_span_starts_decoding_at_a_keyframe_before_the_warmup(tmp_path: Path) -> None:
    index = index_frames(write_gop_clip(tmp_path / "g.mp4", frames=60, gop=10, audio_seconds=0))
    span = frame_span(index, 35, 50, StageNeeds(warmup=7, lookahead=4, align=2))
    pts = index.pts
    assert span.feed_pts == pts[28]  # 35 - 7, down to a multiple of 2
    assert span.seek_pts == pts[20]  # the keyframe at or before frame 27
    assert (span.first_pts, span.end_pts, span.stop_pts) == (pts[35], pts[50], pts[54])
    assert span.frames == 15 and span.shift == 0
    on_keyframe = frame_span(index, 30, 40, StageNeeds())  # the plain path: no warm-up
    assert on_keyframe.seek_pts == on_keyframe.feed_pts == pts[30]
    assert on_keyframe.previous_pts == pts[29]  # its step when the container gives no duration
    whole = frame_span(index, 0, 60, StageNeeds(warmup=7, lookahead=4))
    assert (whole.seek_pts, whole.end_pts, whole.stop_pts) == (pts[0], None, None)


def _enhance_span(src: Path, out: Path, start: float, end: float | None) -> None:
    options = EnhanceOptions(
        src, out, 2, preset="ultrafast", quiet=True, faces=None, span=TimeSpan(start, end)
    )
    enhance(options)


def test_span_keeps_its_frames_moved_to_zero_and_its_audio_packets(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=90, gop=15)  # 3 s at 30 fps, 3 s of tone
    out = tmp_path / "span.mp4"
    _enhance_span(src, out, 1.0, 2.0)
    times_in, times_out = read_video(src).times, read_video(out).times
    kept = [t for t in times_in if Fraction(1) <= t < Fraction(2)]
    assert len(times_out) == len(kept) == 30
    assert times_out == [t - kept[0] for t in kept]  # moved so that the span starts at 0
    audio_in, audio_out = read_audio(src)[0], read_audio(out)[0]
    # The audio packets that start within the span, copied untouched (cut between packets).
    assert audio_out.payloads == _payloads_between(src, 1.0, 2.0)
    assert set(audio_out.payloads) <= set(audio_in.payloads)
    assert abs((audio_out.end - audio_out.start) - 1) <= audio_out.frame_seconds
    assert 0 <= audio_out.start <= audio_out.frame_seconds


def _payloads_between(path: Path, start: float, end: float) -> list[bytes]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [
            bytes(p)
            for p in container.demux(stream)
            if p.size and start <= float(p.pts * stream.time_base) < end
        ]


def test_start_alone_runs_to_the_end_and_the_cli_reads_clock_times(tmp_path: Path) -> None:
    src = write_gop_clip(tmp_path / "in.mp4", frames=60, gop=15)
    out = tmp_path / "tail.mkv"
    code = main(["-q", "enhance", str(src), str(out), "--scale", "2", "--faces", "none",
                 "--preset", "ultrafast", "--start", "00:00:01.5"])  # fmt: skip
    assert code == 0
    assert len(read_video(out).times) == 15
    assert read_video(out).times[0] == 0
    empty = tmp_path / "none.mp4"
    with pytest.raises(InputError, match="no frame between"):
        _enhance_span(src, empty, 5.0, 6.0)
    assert not empty.exists()
