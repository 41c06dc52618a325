"""Benchmark of the 3DMM landmark fit and its temporal smoothing (not collected by pytest).

    python tests/benchmarks/bench_fit.py [--frames 120] [--out /tmp/bench_fit]

1. Synthetic recovery: landmarks rendered from known coefficients plus pixel noise; recovered
   pose (degrees), expression and landmark errors; time per fit cold vs warm (baseline: cold).
2. Real clips (whitehouse, GRID) downscaled x4 and x8: dlib landmarks on the low-resolution frame
   -> fit (warm start, track identity) -> landmark vertices projected and mapped to the original
   frame, compared with dlib's landmarks on the original frame (error / inter-ocular distance),
   raw and smoothed (FitSmoother, lag 5); jitter = mean |p[t+1] - 2 p[t] + p[t-1]| / IOD of the
   projected landmarks. The low-resolution dlib landmarks themselves are the baseline row.
3. A contact sheet PNG of fitted meshes over original frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facesr_video.faces import model_files  # noqa: E402
from facesr_video.faces.landmarks import landmark_box, predict_landmarks  # noqa: E402
from facesr_video.morph.camera import (  # noqa: E402
    Camera,
    Pose,
    camera_vertices,
    euler_degrees,
    project,
)
from facesr_video.morph.draw import draw_mesh, front_facing  # noqa: E402
from facesr_video.morph.fit import FaceFit, LandmarkFitter, TrackIdentity, inter_ocular  # noqa: E402
from facesr_video.morph.formats import load_face_model  # noqa: E402
from facesr_video.morph.smooth import FitSmoother  # noqa: E402

SHARED = REPO.parent / "shared"
MODEL = SHARED / "facemodels" / "ict-facekit" / "ict_face_light.npz"
CLIPS = {
    "whitehouse": SHARED / "data" / "videos" / "whitehouse" / "wh_obama_01.mp4",
    "grid": SHARED / "data" / "videos" / "grid" / "bbaf2n.mpg",
}


def synthetic(model, fitter: LandmarkFitter, count: int, rng: np.random.Generator) -> None:
    size = (640, 480)
    camera = Camera.for_image(*size)
    names = model.expression_names
    active = [names.index(n) for n in ("jawOpen", "mouthSmile_L", "mouthSmile_R", "browInnerUp_L")]
    pose_err, exp_err, exp_all, lm_err, cold_t, warm_t = [], [], [], [], [], []
    for _ in range(count):
        identity = rng.normal(0, 0.6, model.num_identity)
        expression = np.zeros(model.num_expression)
        expression[active] = rng.uniform(0.0, 0.8, len(active))
        rotation = np.radians(rng.uniform([-20, -35, -15], [20, 35, 15]))
        translation = np.array([rng.uniform(-4, 4), rng.uniform(-3, 3), rng.uniform(45, 80)])
        verts = model.vertices(identity, expression)[model.landmarks68].astype(np.float64)
        clean = project(camera_vertices(verts, Pose(rotation, translation)), camera)
        iod = inter_ocular(clean)
        noisy = clean + rng.normal(0, 0.02 * iod, clean.shape)
        t0 = time.perf_counter()
        fit = fitter.fit(noisy, size)
        cold_t.append(time.perf_counter() - t0)
        nudged = noisy + rng.normal(0, 0.01 * iod, clean.shape)
        t0 = time.perf_counter()
        fitter.fit(nudged, size, previous=fit)
        warm_t.append(time.perf_counter() - t0)
        pose_err.append(np.abs(euler_degrees(fit.rotation) - euler_degrees(rotation)))
        exp_err.append(np.abs(fit.expression[active] - expression[active]).mean())
        exp_all.append(np.abs(fit.expression - expression).mean())
        fitted = model.vertices(fit.identity, fit.expression)[model.landmarks68].astype(np.float64)
        proj = project(camera_vertices(fitted, fit.pose), camera)
        lm_err.append(np.linalg.norm(proj - clean, axis=1).mean() / iod)
    pose_err = np.array(pose_err)
    print(f"synthetic recovery ({count} faces, yaw +-35 deg, landmark noise 2% IOD):")
    print(
        "  pose error (pitch, yaw, roll) mean deg: "
        + ", ".join(f"{v:.2f}" for v in pose_err.mean(axis=0))
        + f"; 95th pct of max: {np.percentile(pose_err.max(axis=1), 95):.2f}"
    )
    print(f"  expression MAE: active shapes {np.mean(exp_err):.3f}, all {np.mean(exp_all):.3f}")
    print(f"  landmark error vs noise-free truth: {np.mean(lm_err):.4f} IOD")
    print(
        f"  time per fit: cold {np.median(cold_t) * 1e3:.1f} ms (baseline), warm "
        f"{np.median(warm_t) * 1e3:.1f} ms (ratio {np.median(warm_t) / np.median(cold_t):.2f})"
    )


@dataclass
class ClipResult:
    hr_landmarks: np.ndarray  # (T, 68, 2)
    lr_landmarks_hr: np.ndarray  # (T, 68, 2) LR dlib landmarks mapped to HR pixels
    raw: np.ndarray  # (T, 68, 2) projected raw fits, HR pixels
    smooth: np.ndarray  # (T, 68, 2)
    fit_ms: list[float]
    fits: list[FaceFit]
    frames: list[np.ndarray]
    scale: int


def decode(path: Path, frames: int) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(np.ascontiguousarray(frame.to_ndarray(format="rgb24")))
            if len(out) >= frames:
                break
    return out


def lr_to_hr(points: np.ndarray, scale: int) -> np.ndarray:
    return scale * (points + 0.5) - 0.5


def project_landmarks(model, fit: FaceFit) -> np.ndarray:
    verts = model.vertices(fit.identity, fit.expression)[fit.landmark_vertices]
    return project(camera_vertices(verts.astype(np.float64), fit.pose), fit.camera)


def run_clip(model, frames: list[np.ndarray], scale: int) -> ClipResult:
    detector = model_files.hog_detector()
    h, w = frames[0].shape[:2]
    rects = detector(frames[0], 1 if min(h, w) >= 480 else 2)
    if not rects:
        raise SystemExit("no face found in the first frame")
    r = max(rects, key=lambda r: r.width())
    box_hr = (float(r.left()), float(r.top()), float(r.right() + 1), float(r.bottom() + 1))
    fitter = LandmarkFitter(model)
    track = TrackIdentity(model.num_identity)
    smoother = FitSmoother(lag=5, identity=track)
    hr_lms, lr_lms, raw, fits, times, smoothed = [], [], [], [], [], []
    previous = None
    for rgb in frames:
        hr = predict_landmarks(rgb, box_hr).astype(np.float64)
        lr_rgb = np.asarray(Image.fromarray(rgb).resize((w // scale, h // scale), Image.BICUBIC))
        box_lr = tuple((np.array(box_hr) + 0.5) / scale - 0.5)
        lr = predict_landmarks(lr_rgb, box_lr).astype(np.float64)
        t0 = time.perf_counter()
        fit = fitter.fit(lr, (lr_rgb.shape[1], lr_rgb.shape[0]), previous, track)
        times.append((time.perf_counter() - t0) * 1e3)
        previous = fit
        out = smoother.push(fit)
        if out is not None:
            smoothed.append(out.fit)
        hr_lms.append(hr)
        lr_lms.append(lr_to_hr(lr, scale))
        raw.append(lr_to_hr(project_landmarks(model, fit), scale))
        fits.append(fit)
        box_hr = landmark_box(hr.astype(np.float32))
        bw, bh = box_hr[2] - box_hr[0], box_hr[3] - box_hr[1]
        box_hr = (box_hr[0] - 0.1 * bw, box_hr[1] - 0.1 * bh, box_hr[2] + 0.1 * bw, box_hr[3])
    smoothed += [o.fit for o in smoother.flush()]
    smooth = np.array([lr_to_hr(project_landmarks(model, f), scale) for f in smoothed])
    return ClipResult(
        np.array(hr_lms), np.array(lr_lms), np.array(raw), smooth, times, fits, frames, scale
    )


def error(points: np.ndarray, reference: np.ndarray) -> float:
    iod = np.array([inter_ocular(r) for r in reference])
    return float((np.linalg.norm(points - reference, axis=2).mean(axis=1) / iod).mean())


def jitter(points: np.ndarray, reference: np.ndarray) -> float:
    iod = np.array([inter_ocular(r) for r in reference])[1:-1]
    accel = np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=2).mean(axis=1)
    return float((accel / iod).mean())


def contact_sheet(model, results: list[tuple[str, ClipResult]], path: Path) -> None:
    tiles = []
    for _, res in results:
        for t in np.linspace(0, len(res.frames) - 1, 4).astype(int):
            fit = res.fits[t]
            cam = camera_vertices(
                model.vertices(fit.identity, fit.expression).astype(np.float64), fit.pose
            )
            xy = lr_to_hr(project(cam, fit.camera), res.scale)
            visible = front_facing(cam, model.triangles)
            img = draw_mesh(res.frames[t], xy, model.triangles, visible=visible, edge_step=4)
            img = (0.45 * img + 0.55 * res.frames[t]).astype(np.uint8)  # see the face through
            img = draw_mesh(img, res.raw[t], points=res.hr_landmarks[t], point_color=(255, 40, 40))
            x0, y0 = res.hr_landmarks[t].min(axis=0) - 40
            x1, y1 = res.hr_landmarks[t].max(axis=0) + 40
            crop = Image.fromarray(img).crop((int(x0), int(y0), int(x1), int(y1)))
            tiles.append(crop.resize((256, 256)))
    cols = 4
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (256 * cols, 256 * rows))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (256 * (i % cols), 256 * (i // cols)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(f"contact sheet: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--synthetic", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_fit"))
    args = parser.parse_args()
    if not MODEL.exists():
        raise SystemExit(f"face model not found: {MODEL}")
    model = load_face_model(MODEL)
    synthetic(model, LandmarkFitter(model), args.synthetic, np.random.default_rng(0))
    print()
    print(
        f"real clips ({args.frames} frames; error and jitter in IOD of the original frame; "
        "target: smoothed jitter <= 50% of raw, error not worse)"
    )
    header = (
        f"{'clip':<11}{'x':>2} {'dlib LR err':>11} {'raw err':>8} {'smooth err':>10} "
        f"{'dlib LR jit':>11} {'raw jit':>8} {'smooth jit':>10} {'jit ratio':>9} "
        f"{'fit ms':>7} {'unrel':>5}"
    )
    print(header)
    sheet = []
    for name, path in CLIPS.items():
        if not path.exists():
            print(f"{name}: missing {path}, skipped")
            continue
        frames = decode(path, args.frames)
        for scale in (4, 8):
            res = run_clip(model, frames, scale)
            ref = res.hr_landmarks
            raw_j, smooth_j = jitter(res.raw, ref), jitter(res.smooth, ref)
            unreliable = sum(not f.reliable for f in res.fits)
            print(
                f"{name:<11}{scale:>2} {error(res.lr_landmarks_hr, ref):>11.4f} "
                f"{error(res.raw, ref):>8.4f} {error(res.smooth, ref):>10.4f} "
                f"{jitter(res.lr_landmarks_hr, ref):>11.4f} {raw_j:>8.4f} {smooth_j:>10.4f} "
                f"{smooth_j / raw_j:>9.2f} {np.median(res.fit_ms[1:]):>7.2f} {unreliable:>5}"
            )
            if scale == 4:
                sheet.append((name, res))
    if sheet:
        contact_sheet(model, sheet, args.out / "fit_contact_sheet.png")


if __name__ == "__main__":
    main()
