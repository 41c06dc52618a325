"""Join video-only pieces, encoded one after another with the same settings, into one stream,
their packets copied (no re-encode), with every frame's timestamp set to the one it had in IN.

Each piece starts with a keyframe and is closed (nothing in it refers to another piece), so the
pieces' packets in sequence are one valid stream. What does not carry over are the timestamps:
each piece's encoder started its own decode clock. So every packet gets back the presentation
time its frame had (recorded beside each piece, in presentation order), and decode times are
made anew: the k-th packet decodes at the (k - d)-th presentation time, d being the largest
reordering delay of any piece, which keeps decode times increasing and never after a packet's
presentation. The audio is copied once over the whole (AudioPassthrough), as a single run does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from facesr_video.video.audio import AudioPassthrough, AudioPlan, AudioRepairs, AudioWindow
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter

_DTS_TIMED_MUXERS = {"mp4", "mov"}


class JoinError(Exception):
    """The pieces cannot be joined by copying packets (different stream parameters)."""


@dataclass(frozen=True)
class Piece:
    """One encoded piece and the file of its frames' original `pts duration`, one a line."""

    video: Path
    times: Path


@dataclass(frozen=True)
class PieceTimes:
    """A piece's frames in presentation order: original pts and durations (input time base),
    and for its packets in decode order, the rank of each one's frame."""

    pts: np.ndarray
    durations: np.ndarray
    ranks: np.ndarray

    @property
    def delay(self) -> int:
        """Reordering delay: how many packets at most decode ahead of their turn to show."""
        return int(np.max(np.arange(len(self.ranks)) - self.ranks, initial=0))


@dataclass
class JoinResult:
    frames: int = 0
    audio_plans: list[AudioPlan] = field(default_factory=list)
    audio_repairs: AudioRepairs = field(default_factory=AudioRepairs)


def read_times(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pts, durations) int64 from a piece's times file."""
    values = np.loadtxt(path, dtype=np.int64, ndmin=2)
    return values[:, 0], values[:, 1]


def piece_times(piece: Piece) -> PieceTimes:
    """Read a piece's recorded times and its packets' order; JoinError when they disagree."""
    pts, durations = read_times(piece.times)
    with av.open(str(piece.video)) as container:
        coded = [p.pts for p in container.demux(video=0) if p.size]
    if len(coded) != len(pts) or None in coded:
        raise JoinError(f"{piece.video.name}: {len(coded)} packets for {len(pts)} frames")
    ranks = np.argsort(np.argsort(np.asarray(coded, np.int64), kind="stable"), kind="stable")
    return PieceTimes(pts=pts, durations=durations, ranks=ranks)


def join_pieces(
    pieces: list[Piece],
    output: Path,
    muxer: str,
    target: VideoTarget,
    audio_from: Path | None = None,
    audio_window: AudioWindow | None = None,
    shift: int = 0,
) -> JoinResult:
    """Write `output` (format `muxer`) from `pieces` in order: video packets with their frames'
    original timestamps less `shift`, and the audio of `audio_from` (within `audio_window`)."""
    times = [piece_times(piece) for piece in pieces]
    shown = np.concatenate([t.pts for t in times]) - shift  # every frame, presentation order
    delay = max(t.delay for t in times)
    options = (
        {"movie_timescale": str(target.time_base.denominator)}
        if muxer in _DTS_TIMED_MUXERS
        else {"avoid_negative_ts": "disabled"}
    )
    result = JoinResult()
    with av.open(str(output), "w", format=muxer, options=options) as container:
        stream = _video_stream(container, pieces, target)
        audio = AudioPassthrough(audio_from, container, audio_window) if audio_from else None
        if audio is not None:
            result.audio_plans, result.audio_repairs = audio.plans, audio.repairs
        durations = np.concatenate([t.durations for t in times])
        clock = _DecodeClock(shown, durations, delay)
        held: av.Packet | None = None
        for piece, piece_time in zip(pieces, times, strict=True):
            for packet in _packets(piece, piece_time, shift, stream, target, clock):
                if held is not None:
                    _mux(container, held, audio)
                held = packet
                result.frames += 1
        if held is not None:
            if muxer in _DTS_TIMED_MUXERS:
                held.duration = clock.last_duration(held)
            _mux(container, held, audio)
        if audio is not None:
            audio.finish()
    return result


def _video_stream(container, pieces: list[Piece], target: VideoTarget):
    """The output's video stream, with the first piece's codec parameters; JoinError when
    another piece's differ (its packets would not decode with them)."""
    with av.open(str(pieces[0].video)) as first:
        template = first.streams.video[0]
        extradata = template.codec_context.extradata
        stream = container.add_stream_from_template(template)
    for piece in pieces[1:]:
        with av.open(str(piece.video)) as other:
            if other.streams.video[0].codec_context.extradata != extradata:
                raise JoinError(f"{piece.video.name} was encoded with other parameters")
    stream.time_base = target.time_base
    if target.rotation:
        stream.set_display_rotation(target.rotation)
    stream.metadata.update(dict(target.tags))
    return stream


@dataclass
class _DecodeClock:
    """Decode timestamps for the joined stream, packet by packet (see the module's note)."""

    shown: np.ndarray  # every frame's output pts, presentation order
    durations: np.ndarray
    delay: int
    count: int = 0

    def next(self) -> int:
        k = self.count - self.delay
        self.count += 1
        if k >= 0:
            return int(self.shown[k])
        step = int(self.shown[1] - self.shown[0]) if len(self.shown) > 1 else 1
        return int(self.shown[0]) + k * max(1, step)

    def last_duration(self, packet: av.Packet) -> int:
        """The last packet's duration such that the track (timed by decode timestamps in
        mp4/mov) ends where the last frame does, as VideoWriter does for a single run."""
        span = int(np.max(self.shown + self.durations)) - int(self.shown[0])
        needed = span - (packet.dts - (int(self.shown[0]) - self.delay * self._step()))
        return needed if needed > 0 else packet.duration

    def _step(self) -> int:
        return max(1, int(self.shown[1] - self.shown[0])) if len(self.shown) > 1 else 1


def _packets(piece: Piece, times: PieceTimes, shift: int, stream, target, clock: _DecodeClock):
    """A piece's packets with their frames' original timestamps, in decode order."""
    with av.open(str(piece.video)) as container:
        coded = (p for p in container.demux(video=0) if p.size)
        for packet, rank in zip(coded, times.ranks, strict=True):
            packet.stream = stream
            packet.time_base = target.time_base
            packet.pts = int(times.pts[rank]) - shift
            packet.dts = clock.next()
            packet.duration = int(times.durations[rank])
            yield packet


def _mux(container, packet: av.Packet, audio: AudioPassthrough | None) -> None:
    container.mux(packet)
    if audio is not None:
        audio.mux_until(float(packet.dts * packet.time_base))


def reencode_pieces(
    pieces: list[Piece],
    output: Path,
    target: VideoTarget,
    settings: EncodeSettings,
    audio_from: Path | None = None,
    audio_window: AudioWindow | None = None,
    shift: int = 0,
) -> JoinResult:
    """The fallback join: decode the pieces and encode them again as one stream (one more
    generation of compression, and an encoder's time), frames at their original timestamps."""
    with VideoWriter(output, target, settings, audio_from, audio_window) as writer:
        for piece in pieces:
            pts, durations = read_times(piece.times)
            decoded = VideoDecoder(piece.video)
            for frame, p, d in zip(decoded, pts, durations, strict=True):
                moved = Frame(frame.index, int(p) - shift, target.time_base, int(d), frame.rgb)
                writer.write(moved)
    return JoinResult(writer.frames_written, writer.audio_plans, writer.audio_repairs)
