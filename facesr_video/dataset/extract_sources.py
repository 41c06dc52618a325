"""extract-priors, one source at a time: read (image or video frames), degrade, analyse, hand the
faces to the sample queue, and record in the store's log which sources are complete."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import torch

from facesr_video.analysis.face_tracks import AnalyzerConfig
from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser
from facesr_video.analysis.window import FrameWindow, window_offsets
from facesr_video.dataset.degrade.bicubic import crop_to_multiple
from facesr_video.dataset.degrade.per_source import SourceDegrader, source_degrader
from facesr_video.dataset.extract_log import ExtractLog, SkipRecord
from facesr_video.dataset.extract_options import OVERLAY_DIR, ExtractOptions
from facesr_video.dataset.extract_overlay import OverlayWriter
from facesr_video.dataset.extract_samples import ExtractCounters, FramePayload, SampleQueue
from facesr_video.dataset.inputs import InputItem, read_image
from facesr_video.dataset.store import StoreWriter
from facesr_video.errors import InputError
from facesr_video.morph.face_model import FaceModel
from facesr_video.video.decode import Frame, VideoDecoder
from facesr_video.video.probe import probe


def run_settings(options: ExtractOptions) -> str:
    """The settings that decide which faces a source gives, as recorded with each complete
    source (extract_log.py): a rerun with other settings analyses the source again."""
    settings = (
        f"every={options.every} max_frames={options.max_frames} min_face={options.min_face:g} "
        f"detect_every={options.detect_every} min_confidence={options.min_confidence:g} "
        f"degradation={options.degradation} seed={options.seed}"
    )
    if options.neighbours or options.sample_every > 1:  # old stores' records stay valid
        settings += f" neighbours={options.neighbours} sample_every={options.sample_every}"
    return settings


class SourceExtractor:
    """One run's sources: reads and analyses each, queues its faces (`SampleQueue`), and records
    in the store's log which sources are complete once their samples are in shards."""

    def __init__(
        self, options: ExtractOptions, model: FaceModel, writer: StoreWriter, device: torch.device
    ) -> None:
        self.options = options
        self.model = model
        self.writer = writer
        self.log = ExtractLog(options.out)
        self.counters = ExtractCounters()
        self.skipped: list[SkipRecord] = []
        self.faces_config = AnalyzerConfig(
            min_face=options.min_face, detect_every=options.detect_every
        )
        self.device = device
        self._finished: list[str] = []  # sources complete but not yet recorded as such
        self._shards_recorded = writer.num_shards
        self.queue = SampleQueue(options, model, writer, device, self.counters, self._record_done)
        self.settings = run_settings(options)

    def run_item(self, item: InputItem) -> None:
        skips: dict[str, int] = {}
        try:
            if item.kind == "image":
                self._image(item, skips)
            else:
                self._video(item, skips)
        except InputError as error:
            reason = "unreadable image" if item.kind == "image" else "unreadable video"
            skips = {reason: 1}
            self._note(f"{item.source}: {error.one_line()}")
        self.queue.render_all()
        records = [SkipRecord(item.source, r, n) for r, n in sorted(skips.items())]
        self.skipped.extend(records)
        self.log.set_skipped(item.source, records)
        self._finished.append(item.source)
        self._record_done()

    def _image(self, item: InputItem, skips: dict[str, int]) -> None:
        start = time.perf_counter()
        rgb = read_image(item.path)
        hr, lr = self._degrade(rgb, source_degrader(*self._degrade_args(item.source)))
        self.counters.times.add("read", time.perf_counter() - start)
        if hr is None or lr is None:
            skips["image too small"] = 1
            return
        analyser = SequenceAnalyser(
            self.model, AnalysisConfig(faces=self.faces_config, smoothing=False)
        )
        start = time.perf_counter()
        frames = analyser.push(0, lr, FramePayload(0, hr, lr)) + analyser.finish()
        self.counters.times.add("analyse", time.perf_counter() - start)
        self.counters.frames += 1
        stored = self.queue.take(item.source, [(f, ()) for f in frames], skips)
        faces = analyser.stats.faces
        if faces.observations == 0:
            skips["face too small" if faces.skipped_small else "no face"] = 1
        elif stored == 0 and not skips:
            skips["no reliable fit"] = 1

    def _video(self, item: InputItem, skips: dict[str, int]) -> None:
        info = probe(item.path)
        degrader = source_degrader(*self._degrade_args(item.source))
        analyser: SequenceAnalyser[FramePayload] = SequenceAnalyser(
            self.model, AnalysisConfig(faces=self.faces_config, smoothing=True)
        )
        overlay = None
        if self.options.overlay:
            overlay = OverlayWriter(
                self.options.out / OVERLAY_DIR, item.source, info, self.model, self.options.scale
            )
        frames = self._frames(item)
        window = FrameWindow[FramePayload](window_offsets(self.options.neighbours))
        try:
            taken = 0
            while True:
                start = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                hr, lr = self._degrade(frame.rgb, degrader)
                self.counters.times.add("read", time.perf_counter() - start)
                if hr is None or lr is None:
                    skips["frame too small"] = skips.get("frame too small", 0) + 1
                    continue
                start = time.perf_counter()
                ready = analyser.push(taken, lr, FramePayload(frame.index, hr, lr))
                self.counters.times.add("analyse", time.perf_counter() - start)
                taken += 1
                self.counters.frames += 1
                self.queue.take(item.source, window.push(ready), skips, overlay)
            start = time.perf_counter()
            ready = analyser.finish()
            self.counters.times.add("analyse", time.perf_counter() - start)
            self.queue.take(item.source, window.push(ready) + window.finish(), skips, overlay)
        finally:
            if overlay is not None:
                overlay.close()
        if analyser.stats.faces.observations == 0:
            skips["no face"] = 1

    def _frames(self, item: InputItem) -> Iterator[Frame]:
        every, limit = self.options.every, self.options.max_frames
        taken = 0
        for frame in VideoDecoder(item.path):
            if limit is not None and taken >= limit:
                return
            if frame.index % every == 0:
                taken += 1
                yield frame

    def _degrade_args(self, source: str) -> tuple[str, int, int, str]:
        return (self.options.degradation, self.options.scale, self.options.seed, source)

    def _degrade(
        self, rgb: np.ndarray, degrader: SourceDegrader
    ) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
        scale = self.options.scale
        if rgb.shape[0] < 16 * scale or rgb.shape[1] < 16 * scale:
            return None, None
        hr = np.ascontiguousarray(crop_to_multiple(rgb, scale))
        return hr, degrader(hr)

    def _record_done(self) -> None:
        """Once a shard was written: record the finished sources now wholly in shards."""
        if self.writer.num_shards == self._shards_recorded:
            return
        self._shards_recorded = self.writer.num_shards
        waiting = self.writer.buffered_sources()
        done = [s for s in self._finished if s not in waiting]
        self._finished = [s for s in self._finished if s in waiting]
        self.log.mark_done(done, self.queue.samples, self.settings)
        self.log.save()

    def commit(self) -> None:
        """Write the buffered samples as a last shard; record every finished source as complete."""
        start = time.perf_counter()
        self.writer.flush()
        self.log.mark_done(self._finished, self.queue.samples, self.settings)
        self._finished = []
        self.log.save()
        self.counters.times.add("write", time.perf_counter() - start)

    def _note(self, text: str) -> None:
        if not self.options.quiet:
            from facesr_video.progress import stderr_console

            stderr_console.print(f"[yellow]skipped[/yellow] {text}", highlight=False)
