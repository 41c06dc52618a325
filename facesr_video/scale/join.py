"""Joining a run's segment pieces into OUT: packets copied, or re-encoded where they cannot be.

Copying is the rule (the pieces share encoder settings, each starts with a keyframe): it costs
no encoder time and no second generation of compression. Pieces whose stream parameters differ
(an encoder that varies its headers) are decoded and encoded once more instead, and said so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from facesr_video.enhance.run import EnhanceOptions
from facesr_video.enhance.span import FrameSpan, audio_window
from facesr_video.files import follow_umask
from facesr_video.video.audio import AudioPlan, AudioRepairs
from facesr_video.video.encode import EncodeSettings, VideoTarget
from facesr_video.video.index import FrameIndex
from facesr_video.video.join import JoinError, Piece, join_pieces, read_times, reencode_pieces
from facesr_video.video.output import muxer_for
from facesr_video.video.probe import probe


@dataclass(frozen=True)
class JoinedVideo:
    frames: int
    duration: float  # seconds, first frame to the end of the last
    method: str  # "copy" or "re-encode"
    audio_plans: list[AudioPlan] = field(default_factory=list)
    audio_repairs: AudioRepairs = field(default_factory=AudioRepairs)


def join_segments(
    pieces: list[Piece], work: Path, options: EnhanceOptions, index: FrameIndex, whole: FrameSpan
) -> JoinedVideo:
    """Join `pieces` into OUT through a file in the work folder `work`, renamed over OUT when
    complete; `whole` is the span of all segments (its shift moves a time range to 0)."""
    output = Path(options.output)
    joined = work / f"joined{output.suffix}"
    target = VideoTarget.from_info(probe(options.input), options.scale)
    window = audio_window(index, whole)
    try:
        result = join_pieces(
            pieces, joined, muxer_for(output), target, options.input, window, whole.shift
        )
        method = "copy"
    except JoinError:
        settings = EncodeSettings(options.codec, options.crf, options.preset)
        result = reencode_pieces(
            pieces, joined, target, settings, options.input, window, whole.shift
        )
        method = "re-encode"
    follow_umask(joined)
    os.replace(joined, output)
    first, _ = read_times(pieces[0].times)
    last, durations = read_times(pieces[-1].times)
    span = int(last[-1]) + int(durations[-1]) - int(first[0])
    return JoinedVideo(
        frames=result.frames,
        duration=float(span * target.time_base),
        method=method,
        audio_plans=result.audio_plans,
        audio_repairs=result.audio_repairs,
    )
