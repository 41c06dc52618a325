"""Audio passthrough: every audio stream of IN copied packet for packet into OUT.

Where OUT's container cannot hold a codec (MP2 in mp4, anything but Opus/Vorbis in webm) that
stream is transcoded (AAC, or Opus for webm) and the plan says so, for one line to the user.
Packets are handed out in time order so the writer can interleave them with the video.

Damaged input: a copied packet whose timestamp goes backwards (a corrupt block header) is moved to
where its stream left off, as FFmpeg's muxing does, instead of failing the run; a transcoded
packet that does not decode is skipped; a demuxer that gives up ends the audio there. Each is
counted (`AudioRepairs`) for the summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from facesr_video.video.probe import open_input, stream_tags

# Audio codecs each container holds for certain (mov/mkv: whatever FFmpeg's muxer accepts).
_CONTAINER_AUDIO: dict[str, set[str] | None] = {
    "mp4": {"aac", "mp3", "alac", "flac", "opus", "ac3", "eac3"},
    "webm": {"opus", "vorbis"},
    "mov": None,
    "matroska": None,
}
_DECODER_TO_CODEC = {"mp3float": "mp3", "mp2float": "mp2", "mp1float": "mp1"}


@dataclass(frozen=True)
class AudioPlan:
    """What happens to one input audio stream."""

    input_index: int
    codec: str
    action: str  # "copy" or "transcode"
    target_codec: str  # == codec when copied

    def describe(self) -> str:
        if self.action == "copy":
            return f"audio stream {self.input_index} ({self.codec}) copied"
        return (
            f"audio stream {self.input_index} ({self.codec}) transcoded to {self.target_codec}: "
            "the output container cannot hold it"
        )


@dataclass
class AudioRepairs:
    """What damaged audio needed: packets re-timed, packets skipped, streams cut short."""

    retimed: int = 0  # copied packets whose timestamps went backwards, moved forward
    skipped: int = 0  # packets that did not decode (transcoded streams)
    cut_short: bool = False  # the demuxer stopped early (truncated or corrupt file)

    def describe(self) -> str:
        """What was done, for the summary's warning ('' when nothing was)."""
        parts = []
        if self.retimed:
            parts.append(f"{self.retimed} audio packets with timestamps going backwards re-timed")
        if self.skipped:
            parts.append(f"{self.skipped} undecodable audio packets skipped")
        if self.cut_short:
            parts.append("audio cut short where the file is damaged")
        return ", ".join(parts)


@dataclass
class _StreamClock:
    """Where one copied output stream left off, in its time base."""

    dts: int | None = None
    end: int | None = None  # dts + duration of the last packet

    def retime(self, packet: av.Packet) -> bool:
        """Move a packet that would go backwards to where the stream left off; True if moved.

        Like FFmpeg's muxing, the packet is kept (its audio is intact, only its header is
        damaged), placed right after the previous one: at its end, or one tick later."""
        dts = packet.dts if packet.dts is not None else packet.pts
        moved = False
        if self.dts is not None and dts <= self.dts:
            target = max(self.end or 0, self.dts + 1)
            shift = target - dts
            packet.dts = target
            if packet.pts is not None:
                packet.pts += shift
            dts, moved = target, True
        self.dts = dts
        self.end = dts + (packet.duration or 0)
        return moved


def codec_name(stream: av.audio.stream.AudioStream) -> str:
    name = stream.codec_context.name
    return _DECODER_TO_CODEC.get(name, name)


def plan_audio(in_streams, muxer: str) -> list[AudioPlan]:
    """Copy where `muxer` (FFmpeg name: mp4, mov, matroska, webm) holds the codec."""
    plans = []
    allowed = _CONTAINER_AUDIO.get(muxer)
    fallback = "libopus" if muxer == "webm" else "aac"
    for stream in in_streams:
        codec = codec_name(stream)
        if allowed is None or codec in allowed:
            plans.append(AudioPlan(stream.index, codec, "copy", codec))
        else:
            plans.append(AudioPlan(stream.index, codec, "transcode", fallback))
    return plans


class _Transcoder:
    """Decode one input stream and encode it again (AAC/Opus) with sample-exact timestamps."""

    def __init__(self, in_stream, out_stream) -> None:
        self.in_stream = in_stream
        self.out_stream = out_stream
        self.next_pts: int | None = None

    def packets(self, packet: av.Packet | None) -> list[av.Packet]:
        """Encoded packets for one input packet (None: flush); InvalidDataError if it is bad."""
        out: list[av.Packet] = []
        decoded = self.in_stream.codec_context.decode(packet)
        for frame in decoded:
            rate = frame.sample_rate
            if self.next_pts is None:
                start = frame.time if frame.time is not None else 0.0
                self.next_pts = round(start * rate)
            frame.pts = self.next_pts
            frame.time_base = Fraction(1, rate)
            self.next_pts += frame.samples
            out.extend(self.out_stream.encode(frame))
        if packet is None:
            out.extend(self.out_stream.encode(None))
        return out


@dataclass(frozen=True)
class AudioWindow:
    """The audio of a time range: packets whose start lies in [start, end) seconds of the input
    (None: open), moved `shift` seconds earlier (to where the output's video starts). The cut
    falls between packets (about 21-32 ms for AAC, MP3, Opus): no sample is re-encoded."""

    start: float | None
    end: float | None
    shift: float = 0.0


# How far past a window's end packets are still read (streams are interleaved only roughly).
_WINDOW_SLACK = 2.0


class AudioPassthrough:
    """Read IN's audio packets lazily and mux them into `output` up to a given time."""

    def __init__(
        self, path: Path, output: av.container.OutputContainer, window: AudioWindow | None = None
    ) -> None:
        self.output = output
        self.container = open_input(path)
        self.window = window
        streams = list(self.container.streams.audio)
        if streams and window is not None and window.start:
            self.container.seek(max(0, int((window.start - 1.0) * av.time_base)), backward=True)
        self.plans = plan_audio(streams, output.format.name.split(",")[0])
        self._out: dict[int, av.stream.Stream] = {}
        self._transcoders: dict[int, _Transcoder] = {}
        for stream, plan in zip(streams, self.plans, strict=True):
            if plan.action == "copy":
                self._out[stream.index] = output.add_stream_from_template(stream)
            else:
                self._add_transcoder(stream, plan)
            self._out[stream.index].metadata.update(stream_tags(dict(stream.metadata)))
        self._packets: Iterator[av.Packet] | None = (
            self.container.demux(*streams) if streams else None
        )
        self._pending: av.Packet | None = None
        self._clocks: dict[int, _StreamClock] = {}
        self.copied_packets = 0
        self.repairs = AudioRepairs()

    def _add_transcoder(self, stream, plan: AudioPlan) -> None:
        cc = stream.codec_context
        rate = cc.sample_rate
        if plan.target_codec == "libopus":
            rate = 48000
        out = self.output.add_stream(plan.target_codec, rate=rate, layout=cc.layout.name)
        self._out[stream.index] = out
        self._transcoders[stream.index] = _Transcoder(stream, out)

    def _next(self) -> av.Packet | None:
        if self._pending is None and self._packets is not None:
            try:
                self._pending = self._read()
            except av.error.FFmpegError:  # the demuxer gave up (damaged file): audio ends here
                self.repairs.cut_short = True
                self._packets = None
        return self._pending

    def _read(self) -> av.Packet | None:
        for packet in self._packets:
            if packet.dts is None and packet.pts is None:
                continue  # demuxer's end-of-stream marker
            if self.window is None:
                return packet
            place = self._place(packet)
            if place == "inside":
                return packet
            if place == "done":
                break
        self._packets = None
        return None

    def _place(self, packet: av.Packet) -> str:
        """Where a packet starts against the window: "outside", "inside" (then shifted to
        output time), or "done" once packets lie well past its end (demuxing stops)."""
        window = self.window
        start = packet.pts if packet.pts is not None else packet.dts
        seconds = float(start * packet.time_base)
        if window.end is not None and seconds >= window.end + _WINDOW_SLACK:
            return "done"
        if window.start is not None and seconds < window.start:
            return "outside"
        if window.end is not None and seconds >= window.end:
            return "outside"
        ticks = round(window.shift / packet.time_base)
        if ticks:
            if packet.pts is not None:
                packet.pts -= ticks
            if packet.dts is not None:
                packet.dts -= ticks
        return "inside"

    def mux_until(self, seconds: float | None) -> None:
        """Mux every packet starting at or before `seconds` (None: all that remain)."""
        while (packet := self._next()) is not None:
            time = packet.dts if packet.dts is not None else packet.pts
            if seconds is not None and float(time * packet.time_base) > seconds:
                return
            self._pending = None
            self._mux(packet)

    def _mux(self, packet: av.Packet) -> None:
        index = packet.stream.index
        transcoder = self._transcoders.get(index)
        if transcoder is None:
            if self._clocks.setdefault(index, _StreamClock()).retime(packet):
                self.repairs.retimed += 1
            packet.stream = self._out[index]
            self.output.mux(packet)
            self.copied_packets += 1
            return
        try:
            encoded = transcoder.packets(packet)
        except av.error.InvalidDataError:
            self.repairs.skipped += 1
            return
        for out in encoded:
            self.output.mux(out)

    def finish(self) -> None:
        """Mux what remains and flush the transcoders."""
        self.mux_until(None)
        for transcoder in self._transcoders.values():
            for out in transcoder.packets(None):
                self.output.mux(out)
        self.close()

    def close(self) -> None:
        self.container.close()
