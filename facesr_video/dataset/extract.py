"""`extract-priors`: videos and image folders -> a store of aligned face samples with 3D priors.

Per input: high-resolution frames (cropped to a multiple of S) -> degraded low-resolution frames
(dataset/degrade/per_source.py) -> `SequenceAnalyser` (detect, track, fit, smooth; one per
video, smoothing on; one per image, smoothing off) -> for each reliable face not yet stored: the
HR and LR aligned crops -> priors rendered in batches of one crop size -> `StoreWriter`. The fit
only ever sees the degraded frame, as in `enhance`.

Resuming: sources listed as complete in the store (extract_log.py) are skipped outright; any other
source is analysed again and its samples already stored are skipped by key before any crop or
render. Keys are (source id, track id, frame index): track ids come from the analyser, which
numbers tracks from 0 in detection order, so they are the same on a rerun of the same input.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch

from facesr_video.analysis.window import window_offsets
from facesr_video.dataset.extract_log import SkipRecord
from facesr_video.dataset.extract_options import (
    SHEET_FILE,
    ExtractOptions,
    ExtractSummary,
    check_options,
)
from facesr_video.dataset.extract_sheet import write_contact_sheet
from facesr_video.dataset.extract_sources import SourceExtractor
from facesr_video.dataset.inputs import InputItem, InputListing, list_inputs
from facesr_video.dataset.store import MANIFEST, LayoutInfo, StoreReader, StoreWriter
from facesr_video.device import resolve_device
from facesr_video.errors import FacesrError, InputError, OutputError
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.install import resolve_face_model_path
from facesr_video.progress import make_progress
from facesr_video.render.layout import prior_layout


def extract_priors(options: ExtractOptions) -> ExtractSummary:
    """Run extract-priors; returns the summary. FacesrError for anything the user can fix."""
    began = time.perf_counter()
    check_options(options)
    device = resolve_device(options.device)
    listing = list_inputs(options.inputs)  # missing inputs fail here, before anything is written
    created = is_new_store(options.out)
    summary = extract_listing(options, listing, device, began)
    return finish_store(options, summary, created)


def is_new_store(out: Path) -> bool:
    """Whether `out` holds nothing yet (so a run that stores nothing may remove it again)."""
    return not (out / MANIFEST).exists() and not (out.is_dir() and any(out.iterdir()))


def extract_listing(
    options: ExtractOptions,
    listing: InputListing,
    device: torch.device,
    began: float,
    on_item: Callable[[], None] | None = None,
) -> ExtractSummary:
    """Analyse `listing`'s items into the store `options.out` (created or resumed); its summary.

    `on_item` is called after each item (a worker of `extract-priors --jobs` counts them there).
    No check that anything was stored and no contact sheet: `finish_store` does both, once.
    """
    model = load_face_model(resolve_face_model_path(options.face_model))
    layout = prior_layout(model)
    info = LayoutInfo(layout.version, layout.channels, layout.num_coefficients)
    out = options.out
    created = is_new_store(out)
    writer = StoreWriter(
        out,
        options.scale,
        info,
        options.shard_size,
        options.shard_bytes,
        window_offsets(options.neighbours),
    )
    extractor = SourceExtractor(options, model, writer, device)
    already = 0
    try:
        with writer, make_progress("inputs", options.quiet) as progress:
            task = progress.add_task("extract-priors", total=len(listing.items))
            for item in listing.items:
                if extractor.log.is_done(item.source, extractor.settings):
                    already += 1
                else:
                    progress.update(task, description=_describe(item, extractor, began))
                    extractor.run_item(item)
                progress.advance(task)
                if on_item is not None:
                    on_item()
            progress.update(task, description=_describe(None, extractor, began))
            extractor.commit()
    except BaseException:
        if created and writer.num_samples == 0:
            shutil.rmtree(out, ignore_errors=True)
        raise
    c = extractor.counters
    skipped = tuple(SkipRecord(p, r, 1) for p, r in listing.empty) + tuple(extractor.skipped)
    return ExtractSummary(
        store=out,
        inputs=len(listing.items),
        already_done=already,
        frames=c.frames,
        faces_stored=c.stored,
        faces_present=c.present,
        samples_total=writer.num_samples,
        skipped=skipped,
        seconds=time.perf_counter() - began,
        stage_seconds=c.times.seconds,
    )


def finish_store(options: ExtractOptions, summary: ExtractSummary, created: bool) -> ExtractSummary:
    """The end of a run: a store without samples is an error (and removed if this run made it);
    otherwise the contact sheet is written. Returns `summary`."""
    out = options.out
    if summary.samples_total == 0:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(summary.skipped_by_reason().items()))
        raise InputError(
            f"no usable face in any input ({summary.inputs} inputs; {reasons or 'nothing read'})",
            f"faces must be at least --min-face {options.min_face:g} px wide after the x"
            f"{options.scale} downscale; try --scale 4 or a smaller --min-face",
        )
    try:
        write_contact_sheet(StoreReader(out), out / SHEET_FILE, rows=options.sheet_rows)
    except FacesrError:
        raise
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot write the contact sheet in {out}: {error}") from error
    return summary


def _describe(item: InputItem | None, extractor: SourceExtractor, began: float) -> str:
    stored = extractor.counters.stored
    rate = stored / max(time.perf_counter() - began, 1e-9)
    name = item.source if item is not None else "done"
    if len(name) > 32:
        name = "..." + name[-29:]
    return f"{name} | {stored} faces, {rate:.1f} faces/s"
