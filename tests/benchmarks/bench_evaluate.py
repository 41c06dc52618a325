"""What evaluate's own measuring costs per frame, beside the bicubic method it measures.

    python tests/benchmarks/bench_evaluate.py [--frames 20] [--clip PATH] [--scale 4]

Per frame of a real clip: decode + crop + degrade, the reference analysis on the original (HOG
detection, 68 landmarks, dlib descriptor), scoring one method's output (PSNR, SSIM, landmarks and
descriptor on the output, flicker), and the bicubic method itself (the baseline of the ratios).
The face path's own cost is in bench_enhance*.py; evaluate adds reference + scoring x methods.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.dataset.degrade.bicubic import degrade  # noqa: E402
from facesr_video.enhance.background import upscale_frame  # noqa: E402
from facesr_video.eval.clips import list_clips, original_frames  # noqa: E402
from facesr_video.eval.identity import IdentityEncoder  # noqa: E402
from facesr_video.eval.reference import ReferenceAnalyser  # noqa: E402
from facesr_video.eval.scoring import MethodScorer  # noqa: E402

DEFAULT_CLIP = REPO.parent / "shared/data/videos/whitehouse/wh_obama_01.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    if not args.clip.exists():
        raise SystemExit(f"clip not found: {args.clip} (benchmarks read ../shared)")
    (clip,) = list_clips([args.clip], args.frames)
    encoder = IdentityEncoder()
    analyser = ReferenceAnalyser(encoder, min_face=20.0 * args.scale)
    scorer = MethodScorer("bicubic", encoder)
    seconds = dict.fromkeys(("decode+degrade", "bicubic", "reference", "scoring"), 0.0)
    frames = faces = 0
    size = (0, 0)
    source = original_frames(clip, args.scale, args.frames)
    while True:
        started = time.perf_counter()
        frame = next(source, None)
        if frame is None:
            break
        low = degrade(frame.rgb, args.scale)
        middle = time.perf_counter()
        output = upscale_frame(low, args.scale, "bicubic")
        after_method = time.perf_counter()
        reference = analyser(frame.index, frame.rgb)
        after_reference = time.perf_counter()
        scorer.add(output, frame.rgb, reference)
        done = time.perf_counter()
        seconds["decode+degrade"] += middle - started
        seconds["bicubic"] += after_method - middle
        seconds["reference"] += after_reference - after_method
        seconds["scoring"] += done - after_reference
        frames += 1
        faces += len(reference.faces)
        size = frame.rgb.shape[1::-1]
    width, height = size
    print(f"{clip.name}: {frames} frames {width}x{height} at x{args.scale}, {faces} faces")
    baseline = seconds["bicubic"] / max(frames, 1)
    for name, total in seconds.items():
        per_frame = total / max(frames, 1)
        print(
            f"  {name:15s} {1000 * per_frame:8.1f} ms/frame  {per_frame / baseline:7.1f}x bicubic"
        )
    scores = scorer.result(seconds["bicubic"], frames)
    print(f"  bicubic face PSNR {scores.psnr:.2f} dB, SSIM {scores.ssim:.4f}")


if __name__ == "__main__":
    main()
