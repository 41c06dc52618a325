#!/usr/bin/env python3
"""One prepared run for a lent GPU machine: stores, training, evaluation, figures, in one budget.

    python3 tools/gpu_run.py                       # on the device, after tools/make_gpu_carry.sh
    nice -n 10 python3 tools/gpu_run.py --device cpu --toy   # the dry run on a CPU

In order, all inside a wall-clock budget it enforces (--budget, default 540 s):

1. environment: joins a carry that came in pieces (.carry/callN/payload.tar.NNN), checks every
   import the CLI needs (torch and CUDA, av, dlib, filterpy, ...) and the dlib model files, and
   where something is missing installs it from the carried wheels / model files, offline
   (pip --no-index --target), into the work folder; nothing is fetched, nothing installed
   system-wide, no `pip install -e .` (the repository is put on PYTHONPATH). Says clearly what is
   still missing and stops there.
2. extract-priors on every folder of CARRY/data/faces and CARRY/data/videos except the evaluation
   clips, at each scale, as parallel processes (folders cut into chunks that keep their source
   ids), stopped at the extraction deadline (stores are append-only: what was written stays);
   the parts are merged into one store per scale (shards hard-linked, one manifest). With
   --frames N every video frame is fitted and each sample keeps its N - 1 neighbours.
3. train (--model, default sam-base) at each scale, side by side on the one device (with
   --frames N also an N-frame network, and with --box-too its box-registered ablation, on the
   same store for the same steps; stills get moved copies as neighbours): a short
   calibration run measures steps/s, then the same run is resumed with as many steps as the
   remaining budget holds (or --steps N). A run still going at its deadline is stopped and its
   last checkpoint exported.
4. evaluate every trained network (and the shipped one, --compare-shipped) on the evaluation
   clips with --degradation bicubic and h264, clips split over parallel processes whose reports
   are merged into one report per configuration (a multi-frame network's report scores its
   single-frame sibling too, as ours-single-frame).
5. writes to $OUT (else --out, else build/gpu_out): summary.json (every figure), gpu_run.log, the
   weights (MODEL-xS.safetensors) and results.tar.gz (validation.json, reports, every log):
   at most 8 files of at most 16 MiB, as the device tool brings back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# module -> wheel name prefix (as pip saves it) of what the CLI imports
MODULES = {
    "torch": None,
    "numpy": None,
    "scipy": None,
    "PIL": None,
    "matplotlib": None,
    "safetensors": None,
    "typer": None,
    "rich": None,
    "av": "av-",
    "dlib": "dlib_bin-",
    "filterpy": "filterpy-",
    "pooch": "pooch-",
    "platformdirs": "platformdirs-",
}
DLIB_FILES = ("shape_predictor_68_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".flv", ".m4v", ".ts"}
HOLDOUT = ("frl_*/*_0?0*", "congress/*5.jpg")  # the CPU recipe's validation split
OUT_FILES, OUT_FILE_BYTES = 8, 16 * 2**20  # what the device tool brings back from $OUT
CORES = min(len(os.sched_getaffinity(0)), os.cpu_count() or 1, 32)
CHECK = r"""
import importlib, importlib.util, json, sys
from pathlib import Path
found = {}
for name in sys.argv[1].split(","):
    try:
        module = importlib.import_module(name)
        found[name] = str(getattr(module, "__version__", "ok"))
    except Exception as error:  # noqa: BLE001 - any failure means: missing
        found[name] = None
        found[name + ":error"] = f"{type(error).__name__}: {error}"[:200]
spec = importlib.util.find_spec("face_recognition_models")
folder = Path(spec.origin).parent / "models" if spec and spec.origin else None
found["dlib_models"] = [n for n in sys.argv[2].split(",") if folder and (folder / n).is_file()]
if found.get("torch"):
    import torch
    found["cuda"] = torch.cuda.is_available()
    found["gpu"] = torch.cuda.get_device_name(0) if found["cuda"] else None
    found["cuda_version"] = torch.version.cuda
found["python"] = sys.version.split()[0]
print(json.dumps(found))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--budget", type=float, default=540, help="wall-clock seconds for it all")
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    p.add_argument("--toy", action="store_true", help="tiny sizes for a CPU dry run")
    p.add_argument("--carry", type=Path, default=REPO / ".carry", help="the carried folder")
    p.add_argument("--work", type=Path, default=REPO / "build" / "gpu_run", help="scratch folder")
    p.add_argument("--out", type=Path, default=None, help="results ($OUT wins; build/gpu_out)")
    p.add_argument("--scales", default="4,8", help="comma list of 4 and/or 8")
    p.add_argument("--jobs", type=int, default=CORES, help=f"parallel processes ({CORES})")
    g = p.add_argument_group("extract-priors")
    g.add_argument("--extract-seconds", type=float, default=None, help="deadline (0.3 budget)")
    g.add_argument("--every", type=int, default=2, help="every N-th video frame")
    g.add_argument("--max-frames", type=int, default=None, help="per video (default 20)")
    g.add_argument("--extract-degradation", default=None, help="default: the CLI's")
    g.add_argument("--eval-folder", default="whitehouse", help="videos/NAME: held out, scored")
    g = p.add_argument_group("train")
    g.add_argument("--model", default=None, help="variant (sam-base; --toy: sam-light)")
    g.add_argument("--steps", type=int, default=None, help="fixed steps (default: fit budget)")
    g.add_argument("--calib-steps", type=int, default=None, help="steps timed first (60)")
    g.add_argument("--max-steps", type=int, default=None, help="cap on the fitted steps")
    g.add_argument("--batch-size", type=int, default=None, help="default 32 (--toy 4)")
    g.add_argument("--patch-x4", type=int, default=32, help="LR patch at x4")
    g.add_argument("--patch-x8", type=int, default=16, help="LR patch at x8")
    g.add_argument("--lr", type=float, default=None, help="peak learning rate (CLI default)")
    g.add_argument("--degradation", default="video", help="train --degradation")
    g.add_argument("--scale-augment", default=None, help="train --scale-augment LOW,HIGH")
    g.add_argument("--ema", type=float, default=None, help="train --ema")
    g.add_argument("--workers", type=int, default=None, help="DataLoader workers per run")
    g.add_argument("--holdout", action="append", default=None, help="validation glob(s)")
    g.add_argument("--no-priors-too", action="store_true", help="also train --priors none")
    g.add_argument(
        "--frames",
        type=int,
        default=1,
        help="also train a network seeing N frames (odd; issue 12) on the same store and steps",
    )
    g.add_argument("--box-too", action="store_true", help="with --frames: also box-registered")
    g = p.add_argument_group("evaluate")
    g.add_argument("--eval-reserve", type=float, default=None, help="seconds kept (150)")
    g.add_argument("--eval-frames", type=int, default=None, help="--max-frames (24; --toy 2)")
    g.add_argument("--eval-clips", type=int, default=None, help="first N clips (all; --toy 1)")
    g.add_argument("--samples", type=int, default=1, help="picture frames per clip")
    g.add_argument(
        "--compare-shipped",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also score the shipped sam-light weights (default off)",
    )
    a = p.parse_args(argv)
    if a.budget < 120 or a.eval_reserve is not None and a.eval_reserve >= a.budget - 60:
        p.error("--budget must leave room: at least 120 s, and 60 s more than --eval-reserve")
    toy = a.toy
    a.scales = [int(s) for s in a.scales.split(",") if s]
    if any(s not in (4, 8) for s in a.scales):
        p.error("--scales takes 4 and/or 8")
    if a.frames < 1 or a.frames % 2 == 0:
        p.error("--frames takes an odd window: 1, 3, 5, ...")
    a.model = a.model or ("sam-light" if toy else "sam-base")
    a.max_frames = a.max_frames or (4 if toy else 20)
    a.calib_steps = a.calib_steps or (3 if toy else 60)
    a.max_steps = a.max_steps or (8 if toy else None)
    a.batch_size = a.batch_size or (4 if toy else 32)
    a.eval_frames = a.eval_frames or (2 if toy else 24)
    a.eval_clips = a.eval_clips or (1 if toy else None)
    a.eval_reserve = a.eval_reserve if a.eval_reserve is not None else 150.0
    a.extract_seconds = a.extract_seconds or 0.3 * a.budget
    a.holdout = a.holdout or list(HOLDOUT)
    out = os.environ.get("OUT")
    a.out = Path(out) if out else (a.out or REPO / "build" / "gpu_out")
    return a


@dataclass(frozen=True)
class TrainRun:
    """One network to train: its scale, priors and frames (the window and its registration)."""

    name: str
    scale: int
    base: str  # the scale's single-frame network with priors, which the others are compared to
    priors: str = "all"
    frames: int = 1
    registration: str = "mesh"

    @property
    def ablation(self) -> bool:
        """Trained to be compared, not shipped: no priors, or neighbours registered by boxes."""
        return self.priors == "none" or self.registration == "box"


def train_runs(args: argparse.Namespace, scales: list[int]) -> list[TrainRun]:
    """The single-frame network per scale, and the ablations asked for beside it."""
    runs = []
    for scale in scales:
        base = f"{args.model}-x{scale}"
        runs.append(TrainRun(base, scale, base))
        if args.no_priors_too:
            runs.append(TrainRun(base + "-no-priors", scale, base, priors="none"))
        if args.frames > 1:
            window = f"{base}-f{args.frames}"
            runs.append(TrainRun(window, scale, base, frames=args.frames))
            if args.box_too:
                runs.append(
                    TrainRun(window + "-box", scale, base, frames=args.frames, registration="box")
                )
    return runs


@dataclass
class Job:
    """One child process: its command, log file and timing."""

    name: str
    cmd: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    ended: float = 0.0
    rc: int | None = None
    stopped: bool = False  # stopped at a deadline by us

    @property
    def seconds(self) -> float:
        return round((self.ended or time.monotonic()) - self.started, 1)


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.deadline = self.t0 + args.budget
        self.work = args.work
        for name in ("logs", "split", "stores", "runs", "evals"):  # the site and carry stay
            shutil.rmtree(self.work / name, ignore_errors=True)
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        self.log_path = self.work / "gpu_run.log"
        self.log_path.write_text("")
        self.jobs: list[Job] = []
        self.summary: dict = {
            "ok": False,
            "budget_s": args.budget,
            "device": args.device,
            "toy": args.toy,
            "argv": sys.argv[1:],
            "phases_s": {},
            "errors": [],
        }
        self.env = dict(os.environ)
        self.site = self.work / "site"
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.site), str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        )
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            self.env[name] = "1"
        self.env["PYTHONUNBUFFERED"] = "1"
        self.carry_root = args.carry
        self.face_model: Path | None = None

    # -- small helpers ---------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() - self.t0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def log(self, line: str) -> None:
        text = f"[{self.now():6.1f}s] {line}"
        print(text, flush=True)
        with open(self.log_path, "a") as f:
            f.write(text + "\n")

    def error(self, line: str) -> None:
        self.summary["errors"].append(line)
        self.log("ERROR " + line)

    def cli(self, *args: str) -> list[str]:
        # --quiet: no progress bars in the logs; --verbose: tracebacks of unexpected errors
        return [sys.executable, "-m", "facesr_video", "--quiet", "--verbose", *args]

    def start(self, name: str, cmd: list[str]) -> Job:
        job = Job(name, cmd, self.logs / f"{name}.log")
        with open(job.log, "w") as f:
            f.write(" ".join(cmd) + "\n\n")
            f.flush()
            job.proc = subprocess.Popen(
                cmd, stdout=f, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        job.started = time.monotonic()
        self.jobs.append(job)
        return job

    def wait(self, jobs: list[Job], until: float, poll=None) -> None:
        """Wait for jobs until the monotonic time `until`; stop those still running then."""
        while True:
            running = [j for j in jobs if self._reap(j) is None]
            if not running:
                return
            if poll:
                poll()
            if time.monotonic() >= until:
                break
            time.sleep(0.05)
        for job in running:
            self.log(f"{job.name}: still running at its deadline, stopping it")
        self.stop(running)

    def queue(self, specs: list[tuple[str, list[str]]], until: float, parallel: int) -> list[Job]:
        """Run (name, command) pairs, `parallel` at a time, in order, until `until`. A job is not
        started when the ones finished so far say it could not end in time."""
        pending, jobs = list(specs), []
        while True:
            running = [j for j in jobs if self._reap(j) is None]
            done = sorted(j.seconds for j in jobs if j.rc is not None and not j.stopped)
            typical = done[len(done) // 2] if done else 0.0
            while pending and len(running) < parallel and time.monotonic() + typical < until:
                job = self.start(*pending.pop(0))
                jobs.append(job)
                running.append(job)
            if not running:
                break
            if time.monotonic() >= until:
                for job in running:
                    self.log(f"{job.name}: still running at its deadline, stopping it")
                self.stop(running)
                break
            time.sleep(0.1)
        if pending:
            self.error(f"{len(pending)} of {len(specs)} jobs not started: no time left for them")
        return jobs

    def stop(self, jobs: list[Job], grace: float = 20.0) -> None:
        """SIGINT (the CLI cleans up and keeps what it stored), then SIGKILL after `grace`."""
        jobs = [j for j in jobs if j.proc is not None and self._reap(j) is None]
        for job in jobs:
            job.stopped = True
            job.proc.send_signal(signal.SIGINT)
        until = time.monotonic() + grace
        while any(self._reap(j) is None for j in jobs) and time.monotonic() < until:
            time.sleep(0.1)
        for job in jobs:
            if self._reap(job) is None:
                job.proc.kill()
                job.proc.wait()
                self._reap(job)

    def _reap(self, job: Job) -> int | None:
        if job.rc is None and job.proc is not None and job.proc.poll() is not None:
            job.rc = job.proc.returncode
            job.ended = time.monotonic()
            state = "stopped" if job.stopped else ("ok" if job.rc == 0 else f"FAILED rc={job.rc}")
            self.log(f"{job.name}: {state} after {job.seconds} s")
            if job.rc != 0 and not job.stopped:
                tail = job.log.read_text(errors="replace").strip().splitlines()[-3:]
                self.error(f"{job.name} exited {job.rc}: {' | '.join(tail)}")
        return job.rc

    def phase(self, name: str, started: float) -> None:
        self.summary["phases_s"][name] = round(self.now() - started, 1)

    # -- 1. environment --------------------------------------------------------------------------
    def prepare_carry(self) -> bool:
        root = self.args.carry
        metas = sorted(root.glob("call*/payload.json"))
        if not (root / "data").is_dir() and metas:
            meta = json.loads(metas[0].read_text())
            pieces = sorted(root.glob("call*/payload.tar.*"), key=lambda p: p.name)
            have = {p.name for p in pieces}
            want = [f"payload.tar.{i:03d}" for i in range(meta["pieces"])]
            missing = [n for n in want if n not in have]
            if missing:
                calls = ", ".join(f"{root.name}/call{int(n[-3:]) + 1}" for n in missing)
                self.error(
                    f"the carry came in {meta['pieces']} pieces and {calls} is not here: carry "
                    "each callN folder in its own device call, one right after the other "
                    "(the machine keeps them while warm), then run this"
                )
                return False
            target = self.work / "carry"
            stamp = target / ".sha256"
            if stamp.is_file() and stamp.read_text() == meta["sha256"]:
                self.log(f"carry: already joined in {target}")
            else:
                self.log(f"carry: joining {len(pieces)} pieces ({meta['bytes'] / 2**20:.1f} MiB)")
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                joined = self.work / "payload.tar"
                digest = hashlib.sha256()
                with open(joined, "wb") as out:
                    for piece in pieces:
                        with open(piece, "rb") as f:
                            while chunk := f.read(1 << 22):
                                digest.update(chunk)
                                out.write(chunk)
                if digest.hexdigest() != meta["sha256"]:
                    self.error("carry: the joined pieces do not match their checksum; remake it")
                    return False
                with tarfile.open(joined) as tar:
                    if sys.version_info >= (3, 12):
                        tar.extractall(target, filter="data")
                    else:  # the carry is ours (made by make_gpu_carry.sh)
                        tar.extractall(target)
                joined.unlink()
                stamp.write_text(meta["sha256"])
            root = target
        if not (root / "data").is_dir():
            self.error(f"no carried data in {root / 'data'}: run tools/make_gpu_carry.sh first")
            return False
        self.carry_root = root
        model = root / "ict_face_light.npz"
        if not model.is_file():
            self.error(f"no face model at {model}")
            return False
        self.face_model = model
        self.env["FACESR_FACE_MODEL"] = str(model)
        sizes = {
            p.name: round(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20, 1)
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        }
        self.summary["carry"] = {"root": str(root), "mib": sizes}
        return True

    def check_imports(self) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", CHECK, ",".join(MODULES), ",".join(DLIB_FILES)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=max(30.0, min(120.0, self.left())),
        )
        if out.returncode != 0:
            return {"check_error": out.stderr.strip()[-500:]}
        return json.loads(out.stdout.strip().splitlines()[-1])

    def setup(self) -> bool:
        found = self.check_imports()
        missing = [m for m in MODULES if not found.get(m)]
        models = set(found.get("dlib_models") or [])
        self.log(
            "imports: "
            + ", ".join(f"{m} {found.get(m) or 'MISSING'}" for m in MODULES)
            + f"; dlib model files: {len(models)}/{len(DLIB_FILES)}"
        )
        wheels = self.carry_root / "wheels"
        to_install = []
        for module in missing:
            prefix = MODULES[module]
            hits = sorted(wheels.glob(f"{prefix}*.whl")) if prefix and wheels.is_dir() else []
            to_install += hits[-1:]
        if to_install:
            self.log(
                "installing offline into the work folder: " + " ".join(p.name for p in to_install)
            )
            result = subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
                + ["--no-compile", "--no-cache-dir", "--upgrade", "--target", str(self.site)]
                + [str(p) for p in to_install],
                env=self.env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                self.error("pip install of carried wheels failed: " + result.stderr[-400:])
        if len(models) < len(DLIB_FILES):
            self.unpack_dlib_models()
        if to_install or len(models) < len(DLIB_FILES):
            found = self.check_imports()
        missing = [m for m in MODULES if not found.get(m)]
        missing_models = [n for n in DLIB_FILES if n not in (found.get("dlib_models") or [])]
        self.summary["environment"] = {
            k: v for k, v in found.items() if not k.endswith(":error") and k != "dlib_models"
        }
        self.summary["environment"]["installed_from_carry"] = [p.name for p in to_install]
        for module in missing:
            self.error(
                f"MISSING python module {module}: {found.get(module + ':error', '')} "
                f"(no wheel for it in {wheels}; tools/make_gpu_carry.sh puts them there)"
            )
        for name in missing_models:
            self.error(f"MISSING dlib model file {name} (face-recognition-models / carry dlib/)")
        if "check_error" in found:
            self.error("the import check itself failed: " + found["check_error"])
        if missing or missing_models or "check_error" in found:
            return False
        if self.args.device.startswith("cuda") and not found.get("cuda"):
            self.error(
                f"--device {self.args.device} but torch {found.get('torch')} sees no CUDA device "
                "(torch.cuda.is_available() is False); --device cpu runs it on the CPU"
            )
            return False
        self.log(
            f"python {found.get('python')}, torch {found.get('torch')}, cuda "
            f"{found.get('cuda')} {found.get('gpu') or ''}"
        )
        return True

    def unpack_dlib_models(self) -> None:
        """Carried dlib/*.dat.xz -> a minimal face_recognition_models package in the work folder
        (the CLI finds the package folder by its spec and reads models/ beside __init__)."""
        source = self.carry_root / "dlib"
        have = [n for n in DLIB_FILES if (source / n).is_file() or (source / (n + ".xz")).is_file()]
        if len(have) < len(DLIB_FILES):
            self.log(f"dlib model files: {len(have)} of {len(DLIB_FILES)} in {source}")
            return
        package = self.site / "face_recognition_models"
        (package / "models").mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        for name in DLIB_FILES:
            target = package / "models" / name
            packed = source / (name + ".xz")
            plain = source / name
            if target.is_file():
                continue
            if packed.is_file():
                with lzma.open(packed) as f, open(target.with_suffix(".part"), "wb") as out:
                    shutil.copyfileobj(f, out, 1 << 22)
                target.with_suffix(".part").replace(target)
                self.log(f"dlib model {name}: unpacked from the carry")
            elif plain.is_file():
                shutil.copyfile(plain, target)

    # -- 2. extract-priors -----------------------------------------------------------------------
    def extract(self) -> dict[int, Path]:
        a = self.args
        started = self.now()
        data = self.carry_root / "data"
        folders = [
            f
            for kind in ("faces", "videos")
            for f in sorted((data / kind).iterdir() if (data / kind).is_dir() else [])
            if f.is_dir() and not (kind == "videos" and f.name == a.eval_folder)
        ]
        units = {f: self._work_units(f) for f in folders}
        folders = [f for f in folders if units[f][0]]
        if not folders:
            self.error(f"no training images or videos under {data}")
            return {}
        total = sum(u for _, u in units.values())
        per_scale = len(folders) if a.toy else max(len(folders), a.jobs // len(a.scales))
        jobs: list[Job] = []
        split = self.work / "split"
        shutil.rmtree(split, ignore_errors=True)
        for scale in a.scales:
            parts = self.work / "stores" / f"x{scale}" / "parts"
            shutil.rmtree(parts.parent, ignore_errors=True)
            for folder in folders:
                files, cost = units[folder]
                count = min(len(files), max(1, round(per_scale * cost / total)))
                for k in range(count):
                    chunk = split / f"x{scale}" / f"{folder.parent.name}-{k}" / folder.name
                    for path in files[k::count]:
                        link = chunk / path.relative_to(folder)
                        link.parent.mkdir(parents=True, exist_ok=True)
                        link.symlink_to(path.resolve())
                    cmd = self.cli(
                        "extract-priors", str(chunk), "--out", str(parts / f"{folder.name}-{k}"),
                        "--scale", str(scale), "--face-model", str(self.face_model),
                        "--device", a.device, "--shard-size", "16",
                    )  # fmt: skip
                    if a.frames > 1:  # every frame fitted: a sample's neighbours are adjacent
                        cmd += [
                            "--every", "1", "--sample-every", str(a.every),
                            "--max-frames", str(a.max_frames * a.every),
                            "--neighbours", str(a.frames // 2),
                        ]  # fmt: skip
                    else:
                        cmd += ["--every", str(a.every), "--max-frames", str(a.max_frames)]
                    if scale == 8:
                        cmd += ["--min-face", "12"]
                    if a.extract_degradation:
                        cmd += ["--degradation", a.extract_degradation]
                    jobs.append(self.start(f"extract-x{scale}-{folder.name}-{k}", cmd))
        self.log(f"extract-priors: {len(jobs)} processes over {len(folders)} folders")
        until = min(self.t0 + a.extract_seconds, self.deadline - 60)
        self.wait(jobs, until)
        stores = {}
        report: dict = {}
        for scale in a.scales:
            store, info = self.merge_stores(self.work / "stores" / f"x{scale}")
            scale_jobs = [j for j in jobs if j.name.startswith(f"extract-x{scale}-")]
            info["processes"] = len(scale_jobs)
            info["stopped_at_deadline"] = sum(j.stopped for j in scale_jobs)
            info["failed"] = [j.name for j in scale_jobs if j.rc not in (0, None) and not j.stopped]
            info["slowest_s"] = max((j.seconds for j in scale_jobs), default=0)
            report[f"x{scale}"] = info
            if store is not None:
                stores[scale] = store
                self.log(f"store x{scale}: {info['samples']} samples {info['by_folder']}")
            else:
                self.error(f"store x{scale}: no samples extracted")
        self.summary["extract"] = report
        self.phase("extract", started)
        return stores

    def _work_units(self, folder: Path) -> tuple[list[Path], float]:
        """Media files of a folder and a rough cost (a video counts as --max-frames stills)."""
        files = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
            and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
        )
        frames = float(self.args.max_frames)
        cost = sum(frames if p.suffix.lower() in VIDEO_SUFFIXES else 1.0 for p in files)
        return files, cost

    def merge_stores(self, scale_dir: Path) -> tuple[Path | None, dict]:
        """Part stores -> one store (shards hard-linked under new names, one manifest)."""
        from facesr_video.sr.store import MANIFEST, ShardEntry, StoreManifest, read_manifest

        merged = scale_dir / "store"
        shutil.rmtree(merged, ignore_errors=True)
        entries: list[ShardEntry] = []
        first = None
        for part in sorted((scale_dir / "parts").glob("*")):
            if not (part / MANIFEST).is_file():
                continue
            manifest = read_manifest(part)
            if first is None:
                first = manifest
            elif (manifest.scale, manifest.layout) != (first.scale, first.layout):
                self.error(f"{part}: another scale or prior layout than the other parts; skipped")
                continue
            for shard in manifest.shards:
                name = f"shard-{len(entries):06d}.safetensors"
                merged.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(part / shard.file, merged / name)
                except OSError:
                    shutil.copyfile(part / shard.file, merged / name)
                entries.append(ShardEntry(name, shard.keys, shard.lr_sizes))
        if first is None or not entries:
            return None, {"samples": 0, "by_folder": {}}
        result = StoreManifest(first.scale, first.layout, tuple(entries))
        (merged / MANIFEST).write_text(result.to_json())
        by_folder: dict[str, int] = {}
        for entry in entries:
            for key in entry.keys:
                top = key.source.split("/")[0]
                by_folder[top] = by_folder.get(top, 0) + 1
        return merged, {"samples": result.num_samples, "by_folder": by_folder}

    # -- 3. train --------------------------------------------------------------------------------
    def train(self, stores: dict[int, Path]) -> dict[str, Path]:
        a = self.args
        started = self.now()
        runs = {run.name: run for run in train_runs(a, [s for s in a.scales if s in stores])}
        if not runs:
            return {}
        workers = a.workers
        if workers is None:
            workers = 0 if a.toy else max(1, (a.jobs - 2) // len(runs) - 1)
        run_dirs = {name: self.work / "runs" / name for name in runs}
        for d in run_dirs.values():
            shutil.rmtree(d, ignore_errors=True)
        train_end = self.deadline - a.eval_reserve - 20

        def command(name: str, steps: int, every: int, evals: int, resume: bool) -> list[str]:
            run = runs[name]
            scale = run.scale
            cmd = self.cli(
                "train", str(stores[scale]), "--scale", str(scale), "--out", str(run_dirs[name]),
                "--model", a.model, "--priors", run.priors, "--steps", str(steps),
                "--batch-size", str(a.batch_size),
                "--patch", str(a.patch_x4 if scale == 4 else a.patch_x8),
                "--degradation", a.degradation, "--workers", str(workers),
                "--device", a.device, "--face-model", str(self.face_model),
                "--checkpoint-every", str(every), "--eval-every", str(evals),
            )  # fmt: skip
            for glob in a.holdout:
                cmd += ["--holdout", glob]
            if run.frames > 1:  # stills get exactly moved copies of themselves as neighbours
                cmd += [
                    "--frames", str(run.frames), "--registration", run.registration,
                    "--synthetic-neighbours",
                ]  # fmt: skip
            for flag, value in (
                ("--lr", a.lr),
                ("--ema", a.ema),
                ("--scale-augment", a.scale_augment),
            ):
                if value is not None:
                    cmd += [flag, str(value)]
            return cmd + (["--resume"] if resume else [])

        info: dict = {
            n: {
                "scale": r.scale,
                "priors": r.priors,
                "frames": r.frames,
                "registration": r.registration,
                "workers": workers,
            }
            for n, r in runs.items()
        }
        if a.steps:
            every = max(1, min(200, a.steps // 10))
            jobs = {
                n: self.start(f"train-{n}", command(n, a.steps, every, max(1, a.steps // 4), False))
                for n in runs
            }
            self.wait(list(jobs.values()), train_end)
        else:
            calib = a.calib_steps
            tick = max(1, calib // 6)  # checkpoints every `tick` steps: their times give steps/s
            jobs = {
                n: self.start(f"train-{n}-calibrate", command(n, calib, tick, calib, False))
                for n in runs
            }
            stamps: dict[str, list[float]] = {n: [] for n in runs}

            def poll() -> None:
                for n in runs:
                    ckpt = run_dirs[n] / "checkpoint.pt"
                    if ckpt.is_file():
                        mtime = ckpt.stat().st_mtime
                        if not stamps[n] or stamps[n][-1] != mtime:
                            stamps[n].append(mtime)

            self.wait(list(jobs.values()), train_end, poll)
            plans = {}
            for n, job in jobs.items():
                ticks = stamps[n]
                if job.rc != 0 or len(ticks) < 3:
                    self.error(f"train {n}: calibration did not finish ({len(ticks)} checkpoints)")
                    continue
                rate = tick * (len(ticks) - 2) / max(1e-6, ticks[-1] - ticks[1])  # first: warm-up
                overhead = max(0.0, job.seconds - calib / rate)
                avail = train_end - time.monotonic() - overhead
                steps = calib + max(0, int(rate * avail * 0.9))
                if a.max_steps:
                    steps = min(steps, a.max_steps)
                info[n].update(
                    steps_per_s=round(rate, 3),
                    calibration_s=job.seconds,
                    startup_and_export_s=round(overhead, 1),
                    planned_steps=steps,
                )
                self.log(
                    f"train {n}: {rate:.2f} steps/s side by side, {overhead:.0f} s start+export;"
                    f" {steps} steps fit the {avail:.0f} s left before evaluation"
                )
                if steps > calib:
                    every = max(1, min(200, steps // 10))
                    plans[n] = command(n, steps, every, max(1, steps // 4), True)
            jobs.update({n: self.start(f"train-{n}", cmd) for n, cmd in plans.items()})
            self.wait([jobs[n] for n in plans], train_end)
        exports = []
        for n, job in jobs.items():  # the last job of each run
            step = self._checkpoint_step(run_dirs[n]) if job.stopped else None
            if step:  # export the last checkpoint: a resume with no steps left
                self.log(
                    f"train {n}: stopped at its deadline; exporting its step-{step} checkpoint"
                )
                exports.append(self.start(f"train-{n}-export", command(n, step, step, step, True)))
                info[n]["stopped_at_step"] = step
        self.wait(exports, self.deadline - a.eval_reserve * 0.5)
        weights = {}
        for n in runs:
            path = run_dirs[n] / "model.safetensors"
            if path.is_file():
                weights[n] = path
                info[n].update(self._weights_recipe(path))
                val = run_dirs[n] / "validation.json"
                info[n]["validation"] = json.loads(val.read_text()) if val.is_file() else []
            else:
                self.error(f"train {n}: no weights written")
        self.summary["train"] = info
        self.phase("train", started)
        return weights

    def _checkpoint_step(self, run: Path) -> int | None:
        code = (
            "import sys; from facesr_video.sr.train import load_step; "
            "print(load_step(__import__('pathlib').Path(sys.argv[1])))"
        )
        try:
            out = subprocess.run(
                [sys.executable, "-c", code, str(run / "checkpoint.pt")],
                env=self.env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            return int(out.stdout.strip())
        except (subprocess.TimeoutExpired, ValueError):
            return None

    @staticmethod
    def _weights_recipe(path: Path) -> dict:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        recipe = json.loads(meta.get("recipe", "{}"))
        keep = ("steps", "parameters", "last_loss", "seconds_this_run", "device", "train_samples")
        found = {k: recipe.get(k) for k in keep}
        found["batch_size"] = recipe.get("train_config", {}).get("batch_size")
        found["patch"] = recipe.get("train_config", {}).get("patch")
        found["holdout_sources"] = len(recipe.get("holdout_sources", []))
        found["mib"] = round(path.stat().st_size / 2**20, 2)
        return found

    # -- 4. evaluate -----------------------------------------------------------------------------
    def evaluate(self, weights: dict[str, Path]) -> None:
        a = self.args
        started = self.now()
        folder = self.carry_root / "data" / "videos" / a.eval_folder
        clips = sorted(
            p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
        )[: a.eval_clips]
        if not clips:
            self.error(f"no evaluation clips in {folder}")
            return
        configs = [(*c, d) for c in self._eval_configs(weights) for d in ("bicubic", "h264")]
        specs = []  # one clip per process, clip-major: a deadline cuts clips, not configurations
        for i, clip in enumerate(clips):
            for tag, scale, options, degradation in configs:
                key = f"{tag}-{degradation}"
                cmd = self.cli(
                    "evaluate", str(clip), "--scale", str(scale),
                    "--out", str(self.work / "evals" / key / f"clip{i:02d}"),
                    "--max-frames", str(a.eval_frames), "--min-face", "20" if scale == 4 else "12",
                    "--degradation", degradation, "--device", a.device,
                    "--samples", str(a.samples), "--face-model", str(self.face_model),
                    "--overwrite", *options,
                )  # fmt: skip
                specs.append((f"evaluate-{key}-{i:02d}", cmd))
        self.log(
            f"evaluate: {len(configs)} configurations x {len(clips)} clips, {a.jobs} at a time"
        )
        jobs = self.queue(specs, self.deadline - 25, a.jobs)
        results = {}
        for tag, _, _, degradation in configs:
            key = f"{tag}-{degradation}"
            results[key] = self.merge_reports(self.work / "evals" / key)
            results[key]["processes_stopped"] = sum(
                j.stopped for j in jobs if j.name.startswith(f"evaluate-{key}-")
            )
        self.summary["evaluate"] = results
        self.phase("evaluate", started)

    def _eval_configs(self, weights: dict[str, Path]) -> list[tuple[str, int, list[str]]]:
        """(tag, scale, evaluate options) per network to score. A multi-frame network is scored
        beside its single-frame sibling (same store and steps: ours-single-frame in its report)."""
        a = self.args
        runs = train_runs(a, a.scales)
        no_priors = {r.base: r.name for r in runs if r.priors == "none"}
        configs = []
        for run in runs:
            if run.priors != "all" or run.name not in weights:
                continue
            options = ["--weights", str(weights[run.name])]
            if run.frames == 1:
                plain = weights.get(no_priors.get(run.name, ""))
                options += ["--weights-no-priors", str(plain)] if plain else []
            else:
                options += ["--registration", run.registration, "--skip-one-frame"]
                if run.base in weights:
                    options += ["--weights-single-frame", str(weights[run.base])]
            configs.append((run.name, run.scale, options))
        if a.compare_shipped:
            configs += [(f"shipped-x{s}", s, []) for s in a.scales]
        return configs

    def merge_reports(self, folder: Path) -> dict:
        """Per-clip reports -> folder/report.json + report.md (the CLI's writer), and figures."""
        from facesr_video.eval.report import read_report, write_report

        clips, meta = [], None
        for part in sorted(folder.glob("clip*/report.json")):
            found, meta = read_report(part)
            clips.extend(found)
        if meta is None:
            return {"clips": 0}
        command = (
            f"{len(clips)} per-clip runs merged by tools/gpu_run.py; the first: {meta.command}"
        )
        write_report(folder, clips, replace(meta, command=command))
        document = json.loads((folder / "report.json").read_text())
        means = {m["method"]: m for m in document["means"]}
        figures: dict = {
            "clips": len(clips),
            "frames": sum(c.frames for c in clips),
            "faces": sum(c.faces for c in clips),
            "means": {},
        }
        figures["per_clip"] = {
            clip.name: {
                m.method: {"psnr": m.psnr, "ssim": m.ssim, "identity": m.identity}
                for m in clip.methods
            }
            for clip in clips
        }
        base = means.get("bicubic", {})
        for method, m in means.items():
            row = {k: m.get(k) for k in ("psnr", "ssim", "identity", "flicker", "fps")}
            row["flicker_levels"] = None if m.get("flicker") is None else m["flicker"] * 255
            if method != "bicubic" and base:
                for k in ("psnr", "ssim", "identity", "flicker"):
                    if m.get(k) is not None and base.get(k) is not None:
                        row[f"{k}_vs_bicubic"] = m[k] - base[k]
            figures["means"][method] = row
        return figures

    # -- 5. results ------------------------------------------------------------------------------
    def pack(self, weights: dict[str, Path]) -> None:
        out = self.args.out
        out.mkdir(parents=True, exist_ok=True)
        files = []
        # The device tool brings back OUT_FILES files: the networks worth shipping come first,
        # ablations (no priors, box-registered) after; what does not fit has its figures only.
        runs = {r.name: r for r in train_runs(self.args, self.args.scales)}
        ranked = sorted(weights, key=lambda n: (runs[n].registration == "box", runs[n].ablation))
        slots = OUT_FILES - 3  # results.tar.gz, summary.json, gpu_run.log
        for name in ranked[slots:]:
            self.log(f"{name}.safetensors left out of {out}: {OUT_FILES} files come back")
        for name in ranked[:slots]:
            path = weights[name]
            target = out / f"{name}.safetensors"
            shutil.copyfile(path, target)
            files.append(target.name)
        tar_path = out / "results.tar.gz"
        members = self._result_files()
        for with_pictures in (True, False):
            with tarfile.open(tar_path, "w:gz") as tar:
                for path in members:
                    if with_pictures or path.suffix.lower() not in (".png", ".jpg"):
                        tar.add(path, arcname=str(path.relative_to(self.work)))
            if tar_path.stat().st_size < OUT_FILE_BYTES - 2**20:
                break
            self.log("results.tar.gz: too large with pictures, packed without them")
        files.append(tar_path.name)
        self.summary["elapsed_s"] = round(self.now(), 1)
        self.summary["files"] = files + ["summary.json", "gpu_run.log"]
        sizes = {f: (out / f).stat().st_size for f in files}
        big = [f for f, s in sizes.items() if s > OUT_FILE_BYTES]
        if big or len(self.summary["files"]) > OUT_FILES:
            self.summary["errors"].append(
                f"$OUT holds more than the device tool brings back: {big}"
            )
        (out / "summary.json").write_text(json.dumps(self.summary, indent=1, default=str))
        self.log(f"wrote {', '.join(self.summary['files'])} to {out}")
        shutil.copyfile(self.log_path, out / "gpu_run.log")

    def _result_files(self) -> list[Path]:
        wanted = []
        for pattern in (
            "runs/*/validation.json",
            "runs/*/*.png",
            "runs/*/val/*.png",
            "evals/*/report.json",
            "evals/*/report.md",
            "evals/*/pictures/*",
            "evals/*/clip*/pictures/*",
            "logs/*.log",
            "stores/*/store/manifest.json",
        ):
            wanted += sorted(self.work.glob(pattern))
        return [p for p in wanted if p.is_file()]

    def kill_all(self) -> None:
        self.stop(self.jobs, grace=5)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner = Runner(args)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    weights: dict[str, Path] = {}
    runner.log(f"gpu_run: budget {args.budget:.0f} s, device {args.device}, work {args.work}")
    try:
        started = runner.now()
        ready = runner.prepare_carry() and runner.setup()
        runner.phase("setup", started)
        if ready:
            stores = runner.extract()
            if stores:
                weights = runner.train(stores)
            if weights or args.compare_shipped:
                runner.evaluate(weights)
            runner.summary["ok"] = bool(weights) and not runner.summary["errors"]
    except KeyboardInterrupt as stop:
        runner.error(f"stopped by {stop or 'SIGINT'}")
    except Exception as error:  # whatever happened, the summary is still written
        runner.error(f"{type(error).__name__}: {error}")
        import traceback

        traceback.print_exc()
    finally:
        runner.kill_all()
        runner.pack(weights)
    return 0 if runner.summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
