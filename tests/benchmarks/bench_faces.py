"""Face analysis on low-resolution video: detection recall, landmark error, id switches, speed.

    python tests/benchmarks/bench_faces.py [--quick] [--detect-every N] [--out DIR]

Low resolution is made from the shared clips by an antialiased bicubic downscale (PIL) by 4 and 8.
The reference is what the same detector and predictor find on the original high-resolution frame:
recall = HR faces with an overlapping LR face / HR faces; landmark error = mean distance of the LR
landmarks (mapped to HR pixels) to the HR ones over the inter-ocular distance, beside the baseline
of predicting on the LR frame without enlarging the face first. Id switches: single-person clips
should keep one track id; on the OpenMPF crowd clips a new track born close to one that ended
within the last 15 frames counts as a switch (fragmentation); "rejoined" counts the tracks that took
over a recently lost track's id instead. The speed section times the analyzer against itself with
a full small-face scan on every detection pass (the earlier behaviour), in the same run. Writes
contact sheets, overlay videos and a few overlay PNGs to the printed folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
from PIL import Image

from facesr_video.analysis.face_tracks import AnalyzerConfig, FaceAnalyzer
from facesr_video.faces.align import crop_image
from facesr_video.faces.detect import FaceDetector
from facesr_video.faces.landmarks import inter_ocular, predict_landmarks
from facesr_video.faces.observation import FaceObservation
from facesr_video.faces.overlay import contact_sheet, draw_overlay
from facesr_video.faces.track import iou_matrix

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"
SETS = {"WH": ("whitehouse", "*.mp4"), "GRID": ("grid", "*.mpg"), "CREMA-D": ("crema_d", "*.flv")}


def frames_of(path: Path, limit: int | None) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        out = []
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(out) >= limit:
                break
    return out


def downscale(rgb: np.ndarray, factor: int) -> np.ndarray:
    size = (rgb.shape[1] // factor, rgb.shape[0] // factor)
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC))


def to_hr(points: np.ndarray, factor: int) -> np.ndarray:
    return (np.asarray(points, dtype=np.float64) + 0.5) * factor - 0.5


def quality(clips: list[Path], limit: int | None, detect_every: int = 1) -> None:
    print("\n## detection recall and landmark error (LR vs HR reference)")
    print(
        f"{'set':8} {'x':>2} {'min':>3} {'HR faces':>8} {'det recall':>10} {'track recall':>12} "
        f"{'lm err/IOD':>10} {'no-enlarge':>10} {'ratio':>6} {'ms/frame':>8} {'ids':>4}"
    )
    hr_detector = FaceDetector(min_face=60)
    by_set: dict[str, list[Path]] = defaultdict(list)
    for clip in clips:
        by_set[clip.parent.name].append(clip)
    for name, (folder, _) in SETS.items():
        paths = by_set.get(folder, [])
        if not paths:
            continue
        refs = []  # per clip: frames, per-frame HR (box, landmarks) of the largest face
        for path in paths:
            frames = frames_of(path, limit)
            hr = []
            for rgb in frames:
                dets = hr_detector(rgb)
                hr.append(
                    None
                    if not dets
                    else (dets[0].box, predict_landmarks(rgb, dets[0].box, work_size=0))
                )
            refs.append((frames, hr))
        for factor, min_face in ((4, 20), (8, 20), (8, 12)):
            lr_detector = FaceDetector(min_face=min_face)
            n_ref = det_hits = track_hits = 0
            errs, plain_errs, seconds, n_frames, ids_extra = [], [], 0.0, 0, 0
            for frames, hr in refs:
                analyzer = FaceAnalyzer(
                    AnalyzerConfig(min_face=min_face, detect_every=detect_every)
                )
                ids = set()
                for i, rgb in enumerate(frames):
                    lr = downscale(rgb, factor)
                    start = time.perf_counter()
                    obs = analyzer.analyze(i, lr)
                    seconds += time.perf_counter() - start
                    n_frames += 1
                    ids.update(o.track_id for o in obs)
                    if hr[i] is None:
                        continue
                    n_ref += 1
                    box, hr_lm = hr[i]
                    dets = [d for d in lr_detector(lr) if d.width >= min_face]
                    if (
                        dets
                        and iou_matrix([to_hr_box(d.box, factor) for d in dets], [box]).max() > 0.3
                    ):
                        det_hits += 1
                    match = [
                        o for o in obs if iou_matrix([to_hr_box(o.box, factor)], [box])[0, 0] > 0.3
                    ]
                    if not match:
                        continue
                    track_hits += 1
                    iod = inter_ocular(hr_lm)
                    lm = to_hr(match[0].landmarks68, factor)
                    errs.append(np.linalg.norm(lm - hr_lm, axis=1).mean() / iod)
                    plain = predict_landmarks(
                        lr, dets[0].box if dets else match[0].box, work_size=0
                    )
                    plain_errs.append(
                        np.linalg.norm(to_hr(plain, factor) - hr_lm, axis=1).mean() / iod
                    )
                ids_extra += max(0, len(ids) - 1)
            err = float(np.mean(errs)) if errs else float("nan")
            plain_err = float(np.mean(plain_errs)) if plain_errs else float("nan")
            print(
                f"{name:8} {factor:>2} {min_face:>3} {n_ref:>8} {det_hits / max(n_ref, 1):>10.3f} "
                f"{track_hits / max(n_ref, 1):>12.3f} {err:>10.4f} {plain_err:>10.4f} "
                f"{err / plain_err:>6.2f} {1000 * seconds / n_frames:>8.1f} {ids_extra:>4}"
            )
    print("(ids: track ids beyond one per single-person clip = id switches; target 0)")


def to_hr_box(box, factor: int) -> tuple[float, float, float, float]:
    """Box edges in LR pixels -> HR pixels (edges scale by the factor exactly)."""
    return tuple(
        float(v) * factor for v in (box[0] + 0.5, box[1] + 0.5, box[2] + 0.5, box[3] + 0.5)
    )


def fragment_switches(tracks: dict[int, list[FaceObservation]], window: int = 15) -> int:
    """New tracks born near a track that ended within `window` frames: likely id switches."""
    spans = {t: (obs[0], obs[-1]) for t, obs in tracks.items()}
    switches = 0
    for tid, (first, _) in spans.items():
        for other, (_, last) in spans.items():
            if other == tid or not (0 < first.frame_index - last.frame_index <= window):
                continue
            a, b = np.array(first.box), np.array(last.box)
            size = np.sqrt((b[2] - b[0]) * (b[3] - b[1]))
            if np.linalg.norm((a[:2] + a[2:]) / 2 - (b[:2] + b[2:]) / 2) < 1.0 * size:
                switches += 1
                break
    return switches


def tracking(clips: list[Path], limit: int | None, out: Path, detect_every: int = 1) -> None:
    print("\n## multi-face tracking on OpenMPF (native 640x480 used as the low-resolution input)")
    print(
        f"{'clip':14} {'frames':>6} {'tracks':>6} {'faces':>6} {'predicted':>9} "
        f"{'switches':>8} {'rejoined':>8} {'ms/frame':>8}"
    )
    for path in clips:
        analyzer = FaceAnalyzer(AnalyzerConfig(detect_every=detect_every))
        tracks: dict[int, list[FaceObservation]] = defaultdict(list)
        crops: dict[int, list[np.ndarray]] = defaultdict(list)
        video = out / f"{path.stem}_overlay.mp4"
        seconds, n, predicted = 0.0, 0, 0
        with av.open(str(path)) as src, av.open(str(video), "w") as dst:
            stream = dst.add_stream("libx264", rate=30)
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"}
            for i, frame in enumerate(src.decode(video=0)):
                if limit is not None and i >= limit:
                    break
                rgb = frame.to_ndarray(format="rgb24")
                start = time.perf_counter()
                obs = analyzer.analyze(i, rgb)
                seconds += time.perf_counter() - start
                n += 1
                for o in obs:
                    tracks[o.track_id].append(o)
                    predicted += not o.detected
                    if len(crops[o.track_id]) < 200 and i % 3 == 0:
                        crops[o.track_id].append(crop_image(rgb, o.alignment))
                drawn = draw_overlay(rgb, obs)
                if stream.width == 0 or i == 0:
                    stream.width, stream.height = drawn.shape[1], drawn.shape[0]
                if i in (0, n // 2, 60, 200, 400):
                    Image.fromarray(drawn).save(out / f"{path.stem}_overlay_{i:04d}.png")
                for packet in stream.encode(av.VideoFrame.from_ndarray(drawn, format="rgb24")):
                    dst.mux(packet)
            for packet in stream.encode():
                dst.mux(packet)
        contact_sheet(crops, out / f"{path.stem}_tracks.png")
        stats = analyzer.stats
        print(
            f"{path.name:14} {n:>6} {stats.tracks:>6} {stats.observations:>6} {predicted:>9} "
            f"{fragment_switches(tracks):>8} {analyzer.tracker.reassociated:>8} "
            f"{1000 * seconds / n:>8.1f}"
        )


def speed(clips: list[Path], limit: int | None) -> None:
    """Analysis time per frame: the scheduled passes against a full scan on every pass."""
    print("\n## analysis speed on WH (ms/frame; baseline: full small-face scan every pass)")
    print(
        f"{'x':>2} {'every':>5} {'frames':>6} {'baseline':>8} {'now':>8} {'speed-up':>8} "
        f"{'scans':>5}"
    )
    videos = [frames_of(p, limit) for p in clips]
    for factor in (4, 8):
        lr = [[downscale(rgb, factor) for rgb in frames] for frames in videos]
        for every in (1, 2, 3):
            times, scans = [], 0
            for config in (
                AnalyzerConfig(detect_every=every, scan_every=1, wide_pixels=0),
                AnalyzerConfig(detect_every=every),
            ):
                seconds, n = 0.0, 0
                for frames in lr:
                    analyzer = FaceAnalyzer(config)
                    start = time.perf_counter()
                    for i, rgb in enumerate(frames):
                        analyzer.analyze(i, rgb)
                    seconds += time.perf_counter() - start
                    n += len(frames)
                    scans += analyzer.stats.full_scans if config.scan_every is None else 0
                times.append(1000 * seconds / n)
            print(
                f"{factor:>2} {every:>5} {n:>6} {times[0]:>8.1f} {times[1]:>8.1f} "
                f"{times[0] / times[1]:>8.2f} {scans:>5}"
            )


def smallest_face(out: Path) -> None:
    """Recall of the default analyzer on congress portraits shrunk to a given face width."""
    folder = VIDEOS.parent / "faces" / "congress"
    files = sorted(folder.glob("*.jpg"))[::20]
    if not files:
        return
    print("\n## smallest detectable face (congress portraits shrunk; detector box width in LR px)")
    ref = FaceDetector(min_face=60)
    items = []
    for f in files:
        rgb = np.asarray(Image.open(f).convert("RGB"))
        dets = ref(rgb)
        if len(dets) == 1:
            items.append((rgb, dets[0].width))
    for width in (12, 16, 20, 24, 32, 40):
        detector = FaceDetector(min_face=20)
        hits = 0
        for rgb, w in items:
            s = width / w
            small = np.asarray(
                Image.fromarray(rgb).resize(
                    (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), Image.BICUBIC
                )
            )
            hits += len(detector(small)) >= 1
        print(f"face width {width:>3} px: recall {hits / len(items):.3f} ({len(items)} faces)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 clips x 40 frames per set")
    parser.add_argument("--detect-every", type=int, default=1, help="analyzer's detect_every")
    parser.add_argument("--out", type=Path, default=None, help="folder for pictures and videos")
    args = parser.parse_args(argv)
    if not VIDEOS.exists():
        print(f"shared data not found: {VIDEOS}", file=sys.stderr)
        return 1
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_faces_"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"pictures and overlay videos: {out}")
    clips = []
    for folder, pattern in SETS.values():
        found = sorted((VIDEOS / folder).glob(pattern))
        clips += found[:3] if args.quick else found
    wh = [c for c in clips if c.parent.name == "whitehouse"][:3]
    speed(wh, 60 if args.quick else None)
    quality(clips, 40 if args.quick else None, args.detect_every)
    openmpf = [VIDEOS / "openmpf" / "video_01.mp4", VIDEOS / "openmpf" / "video_02.mp4"]
    tracking(
        [p for p in openmpf if p.exists()], 150 if args.quick else None, out, args.detect_every
    )
    smallest_face(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
