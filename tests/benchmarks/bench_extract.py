"""extract-priors throughput (faces per second) on congress portraits, with a per-stage breakdown.

Run from the repository root: `python tests/benchmarks/bench_extract.py [--count 100] [--scale 4]`.
Copies nothing: the first COUNT portraits of ../shared/data/faces/congress are linked into a
temporary folder and extracted into a temporary store. Stages: read (decode + crop + degrade),
detect + landmarks (dlib), fit (3DMM fit + lighting, the rest of the analysis), crop, render,
write. Baseline measured in the same run: only reading and degrading the same images (what any
extractor pays), so the ratio says what the face work costs on top. Threads: torch uses
--threads (default 1, so the figure is per core and stable on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.analysis.face_tracks import FaceAnalyzer  # noqa: E402
from facesr_video.dataset.degrade.bicubic import crop_to_multiple  # noqa: E402
from facesr_video.dataset.degrade.per_source import source_degrader  # noqa: E402
from facesr_video.dataset.extract import extract_priors  # noqa: E402
from facesr_video.dataset.extract_options import ExtractOptions  # noqa: E402
from facesr_video.dataset.inputs import list_inputs, read_image  # noqa: E402
from tests.conftest import DATA, ICT_NPZ  # noqa: E402


class _DetectTimer:
    """Wraps FaceAnalyzer.analyze (detect + landmarks + track) to time it inside the run."""

    seconds = 0.0

    def __init__(self) -> None:
        self.original = FaceAnalyzer.analyze

    def __enter__(self) -> _DetectTimer:
        original = self.original
        timer = self

        def timed(analyzer, index, rgb):
            start = time.perf_counter()
            try:
                return original(analyzer, index, rgb)
            finally:
                timer.seconds += time.perf_counter() - start

        FaceAnalyzer.analyze = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        FaceAnalyzer.analyze = self.original  # type: ignore[method-assign]


def baseline(folder: Path, scale: int, degradation: str) -> float:
    """Seconds to read, crop and degrade every image (no face work)."""
    start = time.perf_counter()
    for item in list_inputs([folder]).items:
        hr = crop_to_multiple(read_image(item.path), scale)
        source_degrader(degradation, scale, 0, item.source)(hr)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--degradation", default="realistic")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    congress = DATA / "faces" / "congress"
    if not congress.exists() or not ICT_NPZ.exists():
        sys.exit(f"shared data missing: {congress} or {ICT_NPZ}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "congress"
        folder.mkdir()
        for path in sorted(congress.glob("*.jpg"))[: args.count]:
            os.symlink(path, folder / path.name)
        base = baseline(folder, args.scale, args.degradation)
        options = ExtractOptions(
            inputs=(folder,),
            out=Path(tmp) / "store",
            scale=args.scale,
            face_model=ICT_NPZ,
            degradation=args.degradation,
            device=args.device,
            quiet=True,
        )
        with _DetectTimer() as detect:
            summary = extract_priors(options)
        t = summary.stage_seconds
        fit = t["analyse"] - detect.seconds
        faces = max(summary.faces_stored, 1)
        print(
            f"extract-priors x{args.scale}, {summary.inputs} congress portraits, "
            f"{args.degradation} degradation, torch threads {args.threads}, {args.device}"
        )
        print(f"  faces stored {summary.faces_stored}, skipped {summary.skipped_by_reason()}")
        print(f"  total {summary.seconds:.2f} s -> {summary.faces_per_second:.2f} faces/s")
        rows = [
            ("read+degrade", t["read"]),
            ("detect+landmarks", detect.seconds),
            ("fit (+lighting, smoothing)", fit),
            ("crop", t["crop"]),
            ("render", t["render"]),
            ("write", t["write"]),
        ]
        other = summary.seconds - sum(s for _, s in rows)
        rows.append(("other (model load, sheet, records)", other))
        for name, seconds in rows:
            print(
                f"  {name:36s} {seconds:7.2f} s  {1000 * seconds / faces:8.1f} ms/face "
                f"{100 * seconds / summary.seconds:5.1f} %"
            )
        print(
            f"  baseline (read + degrade only): {base:.2f} s = {summary.inputs / base:.1f} "
            f"images/s; extract-priors takes {summary.seconds / base:.1f}x the baseline"
        )


if __name__ == "__main__":
    main()
