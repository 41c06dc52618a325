"""Streaming encode: frames in, OUT written atomically, audio interleaved from IN.

`VideoWriter` writes into a temporary file beside OUT and renames it over OUT (os.replace) only
when everything succeeded; on an exception the temporary file is removed and OUT is untouched.
Each frame keeps its timestamp in the input's time base, so variable frame rate survives.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from facesr_video.errors import DeviceError, OutputError
from facesr_video.video.audio import AudioPassthrough, AudioPlan, AudioRepairs, AudioWindow
from facesr_video.video.decode import Frame
from facesr_video.video.output import muxer_for
from facesr_video.video.probe import ColourTags, VideoInfo

CODECS = ("libx264", "libx265", "libsvtav1", "h264_nvenc")
_DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libsvtav1": 30, "h264_nvenc": 19}
_DEFAULT_PRESET = {"libx264": "medium", "libx265": "medium", "libsvtav1": "8", "h264_nvenc": "p5"}
_WEBM_CODECS = {"libsvtav1"}
_DTS_TIMED_MUXERS = {"mp4", "mov"}  # track duration from decode timestamps (see _Timeline)


@dataclass(frozen=True)
class EncodeSettings:
    codec: str = "libx264"
    crf: int | None = None  # None: the codec's default quality above
    preset: str | None = None


@dataclass(frozen=True)
class VideoTarget:
    """What the output video stream must look like (size after upscaling, timing and tags)."""

    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None
    bit_depth: int
    pix_fmt: str  # input's pixel format, followed where the codec allows
    rotation: int
    colour: ColourTags
    tags: tuple[tuple[str, str], ...] = ()  # stream language, title...

    @classmethod
    def from_info(cls, info: VideoInfo, scale: int) -> VideoTarget:
        v = info.video
        return cls(
            width=v.width * scale,
            height=v.height * scale,
            time_base=v.time_base,
            rate=v.average_rate or v.guessed_rate,
            bit_depth=v.bit_depth,
            pix_fmt=v.pix_fmt,
            rotation=v.rotation,
            colour=v.colour,
            tags=v.tags,
        )


def check_codec(codec: str, muxer: str) -> None:
    """OutputError when the codec is unknown, absent from this FFmpeg, or not for the container."""
    if codec not in CODECS:
        raise OutputError(f"unknown codec {codec!r}", f"use one of {', '.join(CODECS)}")
    if codec not in av.codecs_available:
        raise OutputError(
            f"codec {codec} is not available in this FFmpeg build (PyAV)",
            "pick another --codec, e.g. libx264",
        )
    if muxer == "webm" and codec not in _WEBM_CODECS:
        raise OutputError(
            f"webm cannot hold {codec} video", "use --codec libsvtav1, or write .mp4/.mkv"
        )


def choose_pix_fmt(codec: str, pix_fmt: str, bit_depth: int) -> tuple[str, bool]:
    """Output pixel format following the input's; (format, full_range_from_yuvj)."""
    formats = [f.name for f in (av.Codec(codec, "w").video_formats or [])]
    full_range = pix_fmt.startswith("yuvj")
    wanted = pix_fmt.replace("yuvj", "yuv")
    if wanted in formats:
        return wanted, full_range
    candidates = ["yuv420p10le", "p010le"] if bit_depth > 8 else []
    candidates += ["yuv420p", "nv12"]
    for candidate in candidates:
        if candidate in formats:
            return candidate, full_range
    return formats[0], full_range


def _codec_options(settings: EncodeSettings) -> dict[str, str]:
    codec = settings.codec
    crf = settings.crf if settings.crf is not None else _DEFAULT_CRF[codec]
    preset = settings.preset if settings.preset is not None else _DEFAULT_PRESET[codec]
    if codec == "h264_nvenc":
        return {"cq": str(crf), "preset": preset}
    options = {"crf": str(crf), "preset": preset}
    if codec == "libx265":
        options["x265-params"] = "log-level=error"
    return options


@dataclass
class _Timeline:
    """The video's presentation span (first pts to end of the last frame) and its first dts.

    mp4/mov time a track by decode timestamps: its duration is the last packet's dts plus that
    packet's duration, less the first dts. With B-frames and a variable frame rate, the last
    packet's own frame duration falls short of the end of the last frame (4.023 s instead of
    4.123 s), so the last packet gets whatever makes both spans equal.
    """

    first_pts: int | None = None
    end: int | None = None  # pts + duration of the last frame
    first_dts: int | None = None

    def add_frame(self, pts: int, duration: int) -> None:
        if self.first_pts is None:
            self.first_pts = pts
        self.end = max(self.end or pts, pts + duration)

    def add_packet(self, packet: av.Packet) -> None:
        if self.first_dts is None and packet.dts is not None:
            self.first_dts = packet.dts

    def last_duration(self, packet: av.Packet) -> int:
        """Duration for the last packet (decode order) so that the track ends where the video
        does; its own duration when the span is unknown or would not grow."""
        if None in (self.first_pts, self.end, self.first_dts, packet.dts):
            return packet.duration
        span = self.end - self.first_pts
        needed = span - (packet.dts - self.first_dts)
        return needed if needed > 0 else packet.duration


class VideoWriter:
    """Context manager: `write(frame)` each frame in order; OUT appears only on success."""

    def __init__(
        self,
        output: str | Path,
        target: VideoTarget,
        settings: EncodeSettings = EncodeSettings(),
        audio_from: str | Path | None = None,
        audio_window: AudioWindow | None = None,
    ) -> None:
        self.output = Path(output)
        self.target = target
        self.settings = settings
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.audio_window = audio_window  # None: all of IN's audio
        self.frames_written = 0
        self.audio_plans: list[AudioPlan] = []
        self.audio_repairs = AudioRepairs()  # what damaged input audio needed (see audio.py)
        self._temp: Path | None = None
        self._muxer = ""  # FFmpeg muxer name, set on entering
        self._container: av.container.OutputContainer | None = None
        self._audio: AudioPassthrough | None = None
        self._durations: dict[int, int] = {}
        self._last_pts: int | None = None
        self._last_delta = 0
        self._muxed_until = float("-inf")
        self._timeline = _Timeline()
        self._held: av.Packet | None = None  # the newest packet: its duration may change

    def __enter__(self) -> VideoWriter:
        self._muxer = muxer = muxer_for(self.output)
        check_codec(self.settings.codec, muxer)
        self._temp = self._make_temp()
        try:
            self._container = av.open(
                str(self._temp), mode="w", format=muxer, options=self._muxer_options(muxer)
            )
            self._stream = self._add_video_stream()
            if self.audio_from is not None:
                self._audio = AudioPassthrough(self.audio_from, self._container, self.audio_window)
                self.audio_plans = self._audio.plans
                self.audio_repairs = self._audio.repairs
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._finish()
        except BaseException:
            self._abort()
            raise
        os.replace(self._temp, self.output)
        self._temp = None

    def _muxer_options(self, muxer: str) -> dict[str, str]:
        """Keep every pts exact: mp4/mov get a movie timescale as fine as the video's (edit
        lists); matroska/webm keep negative audio pts (AAC priming) instead of shifting all."""
        if muxer in ("mp4", "mov"):
            return {"movie_timescale": str(self.target.time_base.denominator)}
        return {"avoid_negative_ts": "disabled"}

    def _make_temp(self) -> Path:
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{self.output.stem}.",
                suffix=f".partial{self.output.suffix}",
                dir=self.output.parent,
            )
        except OSError as error:
            raise OutputError(
                f"cannot write in the output folder: {self.output.parent} ({error.strerror})",
                "check that it exists and is writable",
            ) from error
        os.close(fd)
        return Path(name)

    def _add_video_stream(self):
        t = self.target
        codec = self.settings.codec
        stream = self._container.add_stream(codec, rate=t.rate or Fraction(30))
        pix_fmt, full_range = choose_pix_fmt(codec, t.pix_fmt, t.bit_depth)
        stream.width, stream.height, stream.pix_fmt = t.width, t.height, pix_fmt
        stream.time_base = t.time_base
        cc = stream.codec_context
        cc.time_base = t.time_base
        self._range = 2 if full_range else t.colour.range
        cc.color_range = self._range
        cc.colorspace = t.colour.space
        cc.color_primaries = t.colour.primaries
        cc.color_trc = t.colour.transfer
        cc.options = _codec_options(self.settings)
        if t.rotation:
            stream.set_display_rotation(t.rotation)
        stream.metadata.update(dict(t.tags))
        self._pix_fmt = pix_fmt
        try:
            cc.open()
        except av.error.FFmpegError as error:
            cls = DeviceError if codec.endswith("nvenc") else OutputError
            raise cls(
                f"cannot open the {codec} encoder: {error}", "pick another --codec or --preset"
            ) from error
        return stream

    def write(self, frame: Frame) -> None:
        """Encode one frame (H, W, 3) uint8 RGB at its own pts; mux audio up to its time."""
        if self._last_pts is not None:
            self._last_delta = frame.pts - self._last_pts
        self._last_pts = frame.pts
        duration = frame.duration or self._last_delta
        self._durations[frame.pts] = duration
        self._timeline.add_frame(frame.pts, duration)
        colour = self.target.colour
        video_frame = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24").reformat(
            format=self._pix_fmt,
            dst_colorspace=colour.space if colour.space not in (0, 2) else None,
            dst_color_range=self._range or None,
        )
        video_frame.pts = frame.pts
        video_frame.time_base = self.target.time_base
        self._mux_video(self._stream.encode(video_frame))
        self.frames_written += 1

    def write_all(self, frames: Iterable[Frame]) -> int:
        for frame in frames:
            self.write(frame)
        return self.frames_written

    def _mux_video(self, packets: list[av.Packet], last: bool = False) -> None:
        """Mux encoded packets one behind: the last one's duration is only known at the end."""
        for packet in packets:
            duration = self._durations.pop(packet.pts, 0)
            if duration:
                packet.duration = duration
            self._timeline.add_packet(packet)
            if self._held is not None:
                self._mux_packet(self._held)
            self._held = packet
        if last and self._held is not None:
            if self._muxer in _DTS_TIMED_MUXERS:
                self._held.duration = self._timeline.last_duration(self._held)
            self._mux_packet(self._held)
            self._held = None
        if self._audio is not None and (packets or last):
            self._audio.mux_until(self._muxed_until)

    def _mux_packet(self, packet: av.Packet) -> None:
        self._container.mux(packet)
        if packet.dts is not None:
            self._muxed_until = max(self._muxed_until, float(packet.dts * packet.time_base))

    def _finish(self) -> None:
        self._mux_video(self._stream.encode(None), last=True)
        if self._audio is not None:
            self._audio.finish()
            self._audio = None
        self._container.close()
        self._container = None

    def _abort(self) -> None:
        for closeable in (self._audio, self._container):
            if closeable is not None:
                with contextlib.suppress(Exception):  # already failing; temp file goes anyway
                    closeable.close()
        self._audio = self._container = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
