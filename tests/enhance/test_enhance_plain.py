"""enhance() on the plain path, end to end on real clips: nothing lost, everything x scale."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from facesr_video.enhance.background import upscale_frame
from facesr_video.enhance.run import EnhanceOptions, enhance
from facesr_video.video.decode import VideoDecoder
from tests.conftest import DATA, require
from tests.video.clips import read_audio, read_video, write_clip

VIDEOS = DATA / "videos"


def _enhance(src: Path, out: Path, scale: int, **kw) -> object:
    options = EnhanceOptions(
        input=src, output=out, scale=scale, preset="ultrafast", quiet=True, faces=None, **kw
    )
    return enhance(options)


def _check_same_timing_and_audio(src: Path, out: Path, scale: int, copied: bool) -> None:
    a, b = read_video(src), read_video(out)
    assert len(b.times) == len(a.times)
    assert b.times == a.times  # every frame at its own presentation time
    assert b.end == a.end  # same duration
    assert (b.width, b.height) == (a.width * scale, a.height * scale)
    audio_in, audio_out = read_audio(src), read_audio(out)
    assert len(audio_out) == len(audio_in) >= 1
    for x, y in zip(audio_in, audio_out, strict=True):
        one_frame = max(x.frame_seconds, y.frame_seconds)
        assert abs((y.end - y.start) - (x.end - x.start)) <= one_frame
        if copied:
            assert y.payloads == x.payloads


def test_grid_mpeg1_mp2_transcoded_to_aac(tmp_path: Path) -> None:
    src = require(VIDEOS / "grid/sbwe5n.mpg")
    out = tmp_path / "grid.mp4"
    summary = _enhance(src, out, 2)
    assert (summary.frames, summary.frames_lost) == (75, 0)
    assert (summary.audio_copied, summary.audio_transcoded) == (0, 1)
    assert summary.duration == pytest.approx(3.0)
    _check_same_timing_and_audio(src, out, 2, copied=False)
    assert read_audio(out)[0].codec == "aac"


def test_grid_into_mkv_copies_mp2(tmp_path: Path) -> None:
    src = require(VIDEOS / "grid/sbwe5n.mpg")
    out = tmp_path / "grid.mkv"
    summary = _enhance(src, out, 2, background="lanczos")
    assert (summary.audio_copied, summary.audio_transcoded) == (1, 0)
    _check_same_timing_and_audio(src, out, 2, copied=True)


def test_crema_d_flv_vp6_mp3(tmp_path: Path) -> None:
    src = require(VIDEOS / "crema_d/1001_DFA_HAP_XX.flv")
    out = tmp_path / "crema.mp4"
    summary = _enhance(src, out, 2)
    assert summary.frames == 56
    assert summary.audio_copied == 1
    _check_same_timing_and_audio(src, out, 2, copied=True)
    assert read_video(out).times[0] > 0  # the FLV's 27 ms start offset is kept


def test_vfr_clip(tmp_path: Path) -> None:
    pts = [0, 3000, 9000, 10000, 30000, 31500, 45000, 46000]
    src = write_clip(tmp_path / "vfr.mp4", pts, audio_seconds=0.6, duration=1000)
    out = tmp_path / "vfr_x4.mp4"
    _enhance(src, out, 4)
    _check_same_timing_and_audio(src, out, 4, copied=True)
    # Matroska counts in milliseconds: the same frames, each pts rounded to the nearest ms.
    mkv = tmp_path / "vfr_x4.mkv"
    _enhance(src, mkv, 4)
    times = read_video(mkv).times
    assert len(times) == len(pts)
    assert all(
        abs(t - Fraction(p, 90000)) <= Fraction(1, 2000) for t, p in zip(times, pts, strict=True)
    )


def test_rotated_clip_keeps_rotation(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "rot.mp4", [0, 3000, 6000, 9000], rotation=90)
    out = tmp_path / "rot_x2.mp4"
    _enhance(src, out, 2)
    assert read_video(out).rotation == 90
    assert (read_video(out).width, read_video(out).height) == (128, 96)  # stored, unrotated


def test_ten_bit_stays_ten_bit(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "hdr.mp4", [0, 3000, 6000], pix_fmt="yuv420p10le")
    out = tmp_path / "hdr_x2.mp4"
    _enhance(src, out, 2)
    assert read_video(out).pix_fmt == "yuv420p10le"


def test_truncated_indexed_file_reports_lost_frames(tmp_path: Path) -> None:
    import av

    full = write_clip(tmp_path / "full.mp4", [i * 3000 for i in range(60)], size=(160, 120))
    fast = tmp_path / "fast.mp4"
    with av.open(str(full)) as s, av.open(str(fast), "w", options={"movflags": "faststart"}) as d:
        stream = d.add_stream_from_template(s.streams.video[0])
        for packet in s.demux(s.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                d.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(fast.read_bytes()[: fast.stat().st_size // 2])
    summary = _enhance(cut, tmp_path / "out.mp4", 2)
    assert 0 < summary.frames < 60
    assert summary.frames_lost == 60 - summary.frames
    assert "frames lost" in summary.one_line()


@pytest.mark.slow
def test_whitehouse_mp4_aac(tmp_path: Path) -> None:
    src = require(VIDEOS / "whitehouse/wh_obama_02.mp4")
    out = tmp_path / "wh.mp4"
    summary = _enhance(src, out, 2)
    assert summary.frames == 66 and summary.audio_copied == 1
    _check_same_timing_and_audio(src, out, 2, copied=True)


@pytest.mark.slow
def test_openmpf_mp4_b_frames_start_offset(tmp_path: Path) -> None:
    src = require(VIDEOS / "openmpf/video_01.mp4")
    out = tmp_path / "openmpf.mov"
    summary = _enhance(src, out, 2)
    assert summary.frames == 90
    _check_same_timing_and_audio(src, out, 2, copied=True)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 luma (BT.601 weights)."""
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _first_frames(path: Path, count: int = 4) -> list[np.ndarray]:
    return [frame.rgb for frame in itertools.islice(VideoDecoder(path), count)]


@pytest.mark.slow
def test_crema_d_x4_lanczos(tmp_path: Path) -> None:
    """--background lanczos is a Lanczos upscale of the input: where the lanczos and bicubic runs
    differ, they differ as the two resamplings of the input frames do (the encoder's and the
    colour conversion's errors cancel in that difference)."""
    src = require(VIDEOS / "crema_d/1001_DFA_ANG_XX.flv")
    out = tmp_path / "crema_x4.mp4"
    _enhance(src, out, 4, background="lanczos", crf=0)  # near lossless: the detail survives
    _check_same_timing_and_audio(src, out, 4, copied=True)
    plain = tmp_path / "crema_x4_bicubic.mp4"
    _enhance(src, plain, 4, background="bicubic", crf=0)
    frames = zip(_first_frames(out), _first_frames(plain), _first_frames(src), strict=True)
    for lanczos, bicubic, low in frames:
        ran = _luma(lanczos) - _luma(bicubic)
        expected = _luma(upscale_frame(low, 4, "lanczos")) - _luma(upscale_frame(low, 4, "bicubic"))
        assert np.abs(ran).mean() > 0.1  # the backgrounds differ...
        assert np.corrcoef(ran.ravel(), expected.ravel())[0, 1] > 0.75  # ...as the resamplings do
        assert np.abs(ran - expected).mean() < 0.6 * np.abs(expected).mean()
        reference = _luma(upscale_frame(low, 4, "lanczos"))
        to_lanczos = np.abs(_luma(lanczos) - reference).mean()
        to_bicubic = np.abs(_luma(bicubic) - reference).mean()
        assert to_lanczos < to_bicubic  # the lanczos run is the closer one to a lanczos resize


def test_upscale_frame_shapes_and_centres() -> None:
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[2, 3] = 255  # one bright pixel at (x=3, y=2)
    for method in ("bicubic", "lanczos"):
        big = upscale_frame(rgb, 4, method)
        assert big.shape == (20, 28, 3) and big.dtype == np.uint8
        # pixel centres map onto pixel centres: the bright block is centred on (3.5*4-0.5, ...)
        ys, xs = np.nonzero(big[..., 0] > 128)
        assert xs.mean() == pytest.approx(3 * 4 + 1.5) and ys.mean() == pytest.approx(2 * 4 + 1.5)
    flat = np.full((4, 4, 3), 77, np.uint8)
    assert (upscale_frame(flat, 8) == 77).all()
