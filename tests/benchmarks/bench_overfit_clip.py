"""Pipeline sanity check: a network overfit to one clip must beat bicubic by far on that clip.

    python tests/benchmarks/bench_overfit_clip.py [--clip PATH] [--steps 1500] [--out DIR]

Runs the command line as a user would, on ONE short clip (x4, clean bicubic degradation, every
frame): `extract-priors` -> `train` on that store alone -> `evaluate` on the same clip with those
weights. A network that has seen every frame it is scored on must show a large gain over bicubic
(`--min-gain`, 1.5 dB); if it cannot, the fault is in crops, paste, colour or scoring, not in the
network. To say which, the same weights are also scored on the store's own crops, as training
sees them (LR made from the HR crop) and as enhance sees them (the crop of the LR frame): a gain
there that evaluate does not report is lost between the crop and the scored frame. A control
(`--no-control` skips it) evaluates the same weights with the output layer zeroed, so the
network returns its own base, torch's bicubic (a = -0.75), pasted like any SR crop: whatever that
gains over evaluate's bicubic (Pillow, a = -0.5) is kernel and paste, not learning.

Writes into --out: store/ (the training set), run/ (weights), eval/ (evaluate's report.md,
report.json, pictures), eval-control/, overfit.json (the figures printed). Single-threaded by
default (--threads). The defaults take 4-8 minutes on one CPU core (0.13-0.25 s a step, as
busy as the machine is). Measured on GRID bbaf2n, 1500 steps: evaluate +8.1 dB over bicubic
(crops +5.6 dB), control +0.3 dB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from facesr_video.dataset.degrade.recipes import DEGRADATIONS  # noqa: E402
from facesr_video.dataset.patches import PatchDataset, SRBatch  # noqa: E402
from facesr_video.dataset.store import StoreReader  # noqa: E402
from facesr_video.enhance.background import upscale_frame  # noqa: E402
from facesr_video.eval.metrics import psnr  # noqa: E402
from facesr_video.eval.results import METHOD_BICUBIC, METHOD_OURS  # noqa: E402
from facesr_video.sr.weights import load_model  # noqa: E402

SHARED = REPO.parent / "shared"
DEFAULT_CLIP = SHARED / "data/videos/grid/bbaf2n.mpg"
DEFAULT_MODEL = SHARED / "facemodels/ict-facekit/ict_face_light.npz"
SCALE = 4


def run(args: list[str], env: dict[str, str]) -> float:
    """Run `facesr-video ARGS` (quiet), echo the command, return its wall-clock seconds."""
    command = [sys.executable, "-m", "facesr_video", "--quiet", *args]
    print("$ facesr-video --quiet " + " ".join(args), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"facesr-video {args[0]} failed with exit code {done.returncode}")
    return time.perf_counter() - started


@torch.no_grad()
def crop_scores(store: Path, weights: Path, frames: int) -> dict[str, dict[str, float]]:
    """Mean PSNR (dB) on the store's whole crops (frames < `frames`) of the network, of evaluate's
    bicubic (PIL, a = -0.5) and of the network's own base (torch bicubic, a = -0.75), with the LR
    as training makes it (from the HR crop) and as stored (the crop of the LR frame)."""
    reader = StoreReader(store)
    model, info = load_model(weights, scale=reader.scale)
    cfg = model.config
    channels = [reader.layout.channels.index(c) for c in info.layout_channels]
    indices = [i for i in range(len(reader)) if reader[i].frame < frames]
    scores: dict[str, dict[str, float]] = {}
    for label, on_the_fly in (("crops, LR from the HR crop (training)", True),
                              ("crops, LR cut from the LR frame (enhance)", False)):  # fmt: skip
        ours, bicubic, pil = [], [], []
        for i in indices:
            patch = reader.lr_sizes[i] // 8 * 8
            data = PatchDataset(
                reader, [i], patch, False, on_the_fly, DEGRADATIONS["bicubic"], channels=channels
            )
            batch = SRBatch(*(t.unsqueeze(0) for t in data[0]))
            out = model(
                batch.lr,
                batch.priors if cfg.uses_maps else None,
                batch.coeffs if cfg.uses_coeffs else None,
            ).clamp(0, 1)
            up = F.interpolate(batch.lr, scale_factor=reader.scale, mode="bicubic").clamp(0, 1)
            lr = (batch.lr[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            plain = torch.from_numpy(upscale_frame(lr, reader.scale).astype(np.float32) / 255)
            ours.append(float(psnr(out, batch.hr).mean()))
            bicubic.append(float(psnr(up, batch.hr).mean()))
            pil.append(float(psnr(plain.permute(2, 0, 1)[None], batch.hr).mean()))
        scores[label] = {
            "ours": float(np.mean(ours)),
            "bicubic": float(np.mean(pil)),
            "torch_bicubic": float(np.mean(bicubic)),
            "samples": len(indices),
        }
    return scores


def evaluate_scores(report: Path) -> dict[str, dict[str, float]]:
    """Mean face PSNR/SSIM per method from evaluate's report.json."""
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    means = {m["method"]: m for m in document["means"]}
    faces = sum(int(c.get("faces", 0)) for c in document["clips"])
    return {
        method: {"psnr": float(means[method]["psnr"]), "ssim": float(means[method]["ssim"])}
        for method in (METHOD_OURS, METHOD_BICUBIC)
    } | {"faces": {"count": faces}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--face-model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench-overfit")
    parser.add_argument("--frames", type=int, default=40, help="frames extracted for training")
    parser.add_argument("--eval-frames", type=int, default=24, help="frames evaluate scores")
    parser.add_argument("--steps", type=int, default=1500, help="training steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--model", default="sam-light")
    parser.add_argument("--min-gain", type=float, default=1.5, help="dB over bicubic to pass")
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads per step")
    parser.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    parser.add_argument(
        "--control",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also evaluate the weights with the residual zeroed (what the paste alone gains)",
    )
    args = parser.parse_args()
    for path in (args.clip, args.face_model):
        if not path.exists():
            raise SystemExit(f"not found: {path} (benchmarks read ../shared)")
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise SystemExit(f"{out} is not empty; pass --overwrite or another --out")
        for name in ("store", "run", "eval", "eval-control", "overfit.json"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    threads = str(args.threads)
    env = os.environ | {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    torch.set_num_threads(args.threads)
    model = ["--face-model", str(args.face_model)]
    store, run_dir, report = out / "store", out / "run", out / "eval"
    weights = run_dir / "model.safetensors"

    seconds = {}
    seconds["extract-priors"] = run(
        ["extract-priors", str(args.clip), "--out", str(store), "--scale", str(SCALE),
         "--degradation", "bicubic", "--max-frames", str(args.frames), *model],
        env,
    )  # fmt: skip
    seconds["train"] = run(
        ["train", str(store), "--scale", str(SCALE), "--out", str(run_dir),
         "--model", args.model, "--degradation", "bicubic", "--steps", str(args.steps),
         "--batch-size", str(args.batch_size), "--patch", str(args.patch), "--lr", str(args.lr),
         "--scale-augment", "1,1", "--holdout", "nothing", "--eval-every", str(args.steps),
         "--checkpoint-every", str(args.steps), *model],
        env,
    )  # fmt: skip
    seconds["evaluate"] = run(
        ["evaluate", str(args.clip), "--scale", str(SCALE), "--out", str(report),
         "--weights", str(weights), "--max-frames", str(args.eval_frames), "--samples", "2",
         *model],
        env,
    )  # fmt: skip

    control = None
    if args.control:
        zero_weights = zero_residual(weights, run_dir / "zero-residual.safetensors")
        seconds["evaluate control"] = run(
            ["evaluate", str(args.clip), "--scale", str(SCALE), "--out", str(out / "eval-control"),
             "--weights", str(zero_weights), "--max-frames", str(args.eval_frames),
             "--samples", "0", *model],
            env,
        )  # fmt: skip
        control = evaluate_scores(out / "eval-control")

    crops = crop_scores(store, weights, args.eval_frames)
    scored = evaluate_scores(report)
    ours, bicubic = scored[METHOD_OURS], scored[METHOD_BICUBIC]
    gain = ours["psnr"] - bicubic["psnr"]
    recipe = json.loads(json.dumps(_recipe(weights)))
    rows = [
        (
            label,
            c["ours"],
            c["bicubic"],
            f"{c['samples']} crops; torch bicubic (the network's base) {c['torch_bicubic']:.2f}",
        )
        for label, c in crops.items()
    ] + [
        (
            "evaluate: face region of the frame",
            ours["psnr"],
            bicubic["psnr"],
            f"{scored['faces']['count']} faces, SSIM {ours['ssim']:.4f} vs {bicubic['ssim']:.4f}",
        )
    ]
    if control is not None:
        rows.append(
            (
                "evaluate, control: residual zeroed",
                control[METHOD_OURS]["psnr"],
                control[METHOD_BICUBIC]["psnr"],
                "the same weights with the output layer zeroed (torch bicubic, pasted)",
            )
        )
    print()
    print(
        f"{args.clip.name} x{SCALE}: {recipe.get('store_samples')} samples, {args.steps} steps of "
        f"{args.batch_size} x {args.patch} px ({args.model}, lr {args.lr:g}), last loss "
        f"{recipe.get('last_loss', float('nan')):.4f}; scored on the first {args.eval_frames} "
        "frames (all in the training set)"
    )
    print(f"  {'where':45s} {'ours dB':>8s} {'bicubic':>8s} {'gain':>7s}  note")
    for label, o, b, note in rows:
        print(f"  {label:45s} {o:8.2f} {b:8.2f} {o - b:+7.2f}  {note}")
    print("  seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))
    verdict = "PASS" if gain >= args.min_gain else "FAIL"
    print(
        f"  {verdict}: evaluate gain {gain:+.2f} dB (needs >= +{args.min_gain:.1f}); report {out}"
    )
    summary = {
        "clip": str(args.clip),
        "scale": SCALE,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "patch": args.patch,
        "lr": args.lr,
        "model": args.model,
        "train_frames": args.frames,
        "eval_frames": args.eval_frames,
        "crops": crops,
        "evaluate": scored,
        "evaluate_control": control,
        "gain_db": gain,
        "min_gain_db": args.min_gain,
        "passed": gain >= args.min_gain,
        "seconds": seconds,
        "last_loss": recipe.get("last_loss"),
    }
    (out / "overfit.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if gain < args.min_gain:
        raise SystemExit(1)


def zero_residual(weights: Path, path: Path) -> Path:
    """The same weights with the output layer zeroed: the network returns its bicubic base."""
    from facesr_video.sr.weights import save_model

    network, info = load_model(weights)
    with torch.no_grad():
        network.tail.weight.zero_()
        network.tail.bias.zero_()
    save_model(network, path, info.layout_version, info.layout_channels, {"control": "zeroed"})
    return path


def _recipe(weights: Path) -> dict:
    from facesr_video.sr.weights import read_info

    return dict(read_info(weights).recipe)


if __name__ == "__main__":
    main()
