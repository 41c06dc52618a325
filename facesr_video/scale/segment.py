"""One segment's worker: decode from its keyframe, warm up, enhance, write a video-only piece.

The piece, its frames' original timestamps and a record saying it is done are written in that
order into the work folder, each whole, so a segment counts as done only when all three are
there: a rerun after a crash or Ctrl-C redoes exactly the segments without a record. Memory
stays flat in the segment's length: frames stream through as in a single run.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from facesr_video.enhance.background import upscale_frames
from facesr_video.enhance.run import EnhanceOptions, build_face_stage
from facesr_video.enhance.span import FrameSpan, span_frames
from facesr_video.errors import FacesrError
from facesr_video.files import write_text_whole
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter
from facesr_video.video.join import Piece
from facesr_video.video.probe import probe


@dataclass(frozen=True)
class SegmentJob:
    """What a worker needs (picklable: it travels to another process or machine)."""

    options: EnhanceOptions  # the run's options, the face device set for this worker
    number: int
    span: FrameSpan
    piece: Piece
    record: Path  # written last: the segment is done


@dataclass(frozen=True)
class SegmentResult:
    number: int
    frames: int
    faces_enhanced: int = 0
    tracks: int = 0
    seconds: float = 0.0
    reused: bool = False  # done by an earlier run

    def as_dict(self) -> dict[str, int | float]:
        return {
            "number": self.number,
            "frames": self.frames,
            "faces_enhanced": self.faces_enhanced,
            "tracks": self.tracks,
            "seconds": self.seconds,
        }


def read_record(path: Path) -> SegmentResult:
    """A finished segment's result, as its worker recorded it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return SegmentResult(**data, reused=True)


def run_segment(job: SegmentJob) -> SegmentResult:
    """Enhance one segment into its piece and record it done (the worker's whole job)."""
    started = time.perf_counter()
    options = job.options
    info = probe(options.input)
    face_stage = build_face_stage(options)

    def plain(frames: Iterator[Frame]) -> Iterator[Frame]:
        return upscale_frames(frames, options.scale, options.background)

    stage = face_stage if face_stage is not None else plain
    settings = EncodeSettings(options.codec, options.crf, options.preset)
    target = VideoTarget.from_info(info, options.scale)
    partial = job.piece.times.with_name(job.piece.times.name + ".partial")
    frames = 0
    with (
        VideoWriter(job.piece.video, target, settings) as writer,
        open(partial, "w", encoding="ascii") as times,
    ):
        for frame in span_frames(VideoDecoder(options.input), stage, job.span):
            writer.write(frame)
            times.write(f"{frame.pts} {frame.duration}\n")
            frames += 1
    partial.replace(job.piece.times)
    result = SegmentResult(
        number=job.number,
        frames=frames,
        faces_enhanced=face_stage.faces_enhanced if face_stage is not None else 0,
        tracks=len(face_stage.tracks) if face_stage is not None else 0,
        seconds=time.perf_counter() - started,
    )
    write_text_whole(job.record, json.dumps(result.as_dict()))
    return result


@dataclass(frozen=True)
class SegmentFailure:
    """A segment's error, carried back from its worker as data (exceptions with extra fields
    do not survive pickling whole), so the other segments can finish and be recorded first."""

    number: int
    kind: str  # "facesr": a FacesrError (one line for the user); "bug": anything else
    message: str
    hint: str | None = None

    def error(self) -> Exception:
        if self.kind == "facesr":
            return FacesrError(f"segment {self.number}: {self.message}", self.hint)
        return RuntimeError(f"segment {self.number} failed:\n{self.message}")


def run_segment_caught(job: SegmentJob) -> SegmentResult | SegmentFailure:
    """run_segment, with its error returned instead of raised (what the engines call)."""
    try:
        return run_segment(job)
    except FacesrError as error:
        return SegmentFailure(job.number, "facesr", error.message, error.hint)
    except Exception:
        return SegmentFailure(job.number, "bug", traceback.format_exc())
