"""How far coded training input lies from the clean downscale, next to the benchmark clips.

A network learns to undo what its training input did to the face. If training input is coded
harder (or softer) than the footage it meets, it learns to smooth too much (or too little). This
prints, in 8-bit levels, the mean |coded - clean| inside face crops for:

- a store made by `extract-priors --degradation h264` (whole frames coded as one stream, CRF
  drawn per source): what `train --degradation stored` trains on;
- patches of the on-the-fly recipes (`h264`: each patch coded as the last of a short clip) read
  from the same store's high-resolution crops;
- the White House clips downscaled and coded as `evaluate --degradation h264` does (CRF 23),
  and at CRF 18 and 32, the ends of the training range.

    python tests/benchmarks/bench_degradation_match.py STORE [--clips DIR] [--samples 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.dataset.degrade.h264 import H264Stream
from facesr_video.dataset.degrade.recipes import DEGRADATIONS
from facesr_video.dataset.patches import PatchDataset
from facesr_video.dataset.store import StoreReader
from facesr_video.eval.clips import list_clips, original_frames
from facesr_video.faces.detect import FaceDetector

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ROOT.parent / "shared" / "data" / "videos" / "whitehouse"


def levels(coded: np.ndarray, clean: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, in 8-bit levels."""
    return float(np.abs(coded.astype(np.float64) - clean.astype(np.float64)).mean())


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float in [0, 1] -> uint8."""
    return (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def store_rows(store: Path, samples: int) -> dict[str, list[float]]:
    """Stored input and on-the-fly recipes against the clean downscale of the same HR crops."""
    reader = StoreReader(store)
    rng = np.random.default_rng(0)
    chosen = sorted(rng.choice(len(reader), size=min(samples, len(reader)), replace=False))
    rows: dict[str, list[float]] = {"store (stored input)": []}
    for i in chosen:
        s = reader[int(i)]
        rows["store (stored input)"].append(levels(s.lr, downscale(np.asarray(s.hr), reader.scale)))
    for name in ("h264", "video"):
        data = PatchDataset(reader, [int(i) for i in chosen], 32, True, True, DEGRADATIONS[name])
        key = f"on the fly: {name} recipe, patches"
        rows[key] = []
        for position in range(len(chosen)):
            batch = data[(position, 1000 + position)]
            hr, lr = (_to_uint8(t.permute(1, 2, 0).numpy()) for t in (batch.hr, batch.lr))
            rows[key].append(levels(lr, downscale(hr, reader.scale)))
        if name == "video":  # half of its samples are clean: report the coded half alone
            rows[key] = [v for v in rows[key] if v > 0.05]
    return rows


def clip_rows(clips: Path, scale: int, frames: int, crfs: tuple[int, ...]) -> dict[str, list]:
    """White House face crops: the LR clip coded as one stream at each CRF, against clean."""
    detector = FaceDetector(min_face=40.0)
    rows: dict[str, list[float]] = {f"White House, CRF {c} (evaluate: 23)": [] for c in crfs}
    for clip in list_clips([clips], max_frames=frames):
        originals = list(original_frames(clip, scale, frames))
        found = detector(originals[0].rgb)
        if not found:
            continue
        x0, y0, x1, y1 = (v / scale for v in found[0].box)
        grow = 0.3 * (x1 - x0)
        box = (max(0, int(y0 - grow)), max(0, int(x0 - grow)), int(y1 + grow), int(x1 + grow))
        lows = [downscale(f.rgb, scale) for f in originals]
        for crf in crfs:
            codec = H264Stream(crf)
            for low in lows:
                coded = codec(low)
                crop = (slice(box[0], box[2]), slice(box[1], box[3]))
                rows[f"White House, CRF {crf} (evaluate: 23)"].append(
                    levels(coded[crop], low[crop])
                )
    return rows


def print_table(rows: dict[str, list[float]]) -> None:
    print(f"{'input':44s} {'n':>5s} {'mean':>6s} {'p10':>6s} {'median':>6s} {'p90':>6s}")
    for name, values in rows.items():
        if not values:
            print(f"{name:44s} {0:5d}   (none)")
            continue
        v = np.asarray(values)
        q = np.percentile(v, [10, 50, 90])
        print(f"{name:44s} {len(v):5d} {v.mean():6.2f} {q[0]:6.2f} {q[1]:6.2f} {q[2]:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a store from extract-priors --degradation h264")
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--frames", type=int, default=24)
    args = parser.parse_args(argv)
    if not (args.store / "manifest.json").is_file():
        print(f"skipped: no store at {args.store} (make one: extract-priors --degradation h264)")
        return 0
    rows = store_rows(args.store, args.samples)
    scale = StoreReader(args.store).scale
    if args.clips.is_dir():
        rows |= clip_rows(args.clips, scale, args.frames, (18, 23, 32))
    else:
        print(f"White House clips not found at {args.clips}: their rows are left out")
    print(f"mean |coded - clean| inside face crops, 8-bit levels, x{scale}")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
