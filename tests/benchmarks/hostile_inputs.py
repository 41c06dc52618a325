"""Hostile inputs: the CLI run, as a new user would, on bad inputs, bad options and odd videos.

    python tests/benchmarks/hostile_inputs.py [--only WORD] [--keep]

Every case runs `python -m facesr_video ...` in a fresh folder of a temporary directory (its
inputs generated there; real clips from ../shared and the face model are used when present, the
row is skipped with the reason when not) and prints one row: case, exit code, message (the last
line on stderr), whether every input is byte for byte intact, and the output's state:

    absent        no OUT, and nothing half-written beside it
    kept          OUT existed before and is unchanged
    complete      OUT decodes to every frame of the input, with the umask's mode (0644 here)
    partial left  a hidden .partial / .tmp file was left behind (always a failure)

A row is green ("ok") when the exit code, the message, the input and the output state are what
the case expects; no row may print a traceback. Exits 1 when any row fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the test helpers that write clips

from tests.video.clips import write_audio_only, write_clip  # noqa: E402

SHARED = REPO.parent / "shared"
VIDEOS = SHARED / "data" / "videos"
ICT_NPZ = SHARED / "facemodels" / "ict-facekit" / "ict_face_light.npz"
SAMPLE = REPO / "samples" / "crema_d_1001_HAP_120x90.mp4"
UMASK = 0o022
ERROR = (2,)


class Skip(Exception):
    """A case that cannot run here; the message says why."""


@dataclass
class Run:
    """One command line and what it must do."""

    argv: list[str]
    output: Path | None  # OUT, whose state is reported
    codes: tuple[int, ...] = ERROR
    states: tuple[str, ...] = ("absent",)
    words: str = ""  # must appear in the message
    reference: Path | None = None  # the input whose frames a complete OUT must hold
    send: int | None = None  # signal sent mid-run
    wait_for: str = ".*.partial.*"  # glob in the case folder that says the run is mid-way
    protected: list[Path] = field(default_factory=list)  # other files that must stay intact


@dataclass
class Row:
    case: str
    code: str
    message: str
    intact: str
    state: str
    ok: str


@dataclass(frozen=True)
class Inputs:
    """Inputs generated once, shared by the cases (each case checks them byte for byte)."""

    folder: Path

    def __getattr__(self, name: str) -> Path:
        return self.folder / INPUT_FILES[name]


INPUT_FILES = {
    "clip": "clip.mp4",
    "long": "long.mp4",
    "vfr": "vfr.mp4",
    "rotated": "rotated.mp4",
    "ten_bit": "ten_bit.mp4",
    "odd": "odd_size.mp4",
    "two_audio": "two_audio.mkv",
    "offset_audio": "offset_audio.mp4",
    "text": "notes.mp4",
    "zero": "zero.mp4",
    "image": "face.jpg",
    "audio": "voice.m4a",
    "truncated": "cut.mp4",
    "damaged": "damaged.mkv",
    "dir_input": "folder.mp4",
    "garbage": "garbage.npz",
    "garbage_weights": "garbage.safetensors",
}


def make_inputs(folder: Path) -> Inputs:
    """Every generated input: clips, odd videos and files that only look like videos."""
    folder.mkdir()
    i = Inputs(folder)
    frames30 = [n * 3000 for n in range(30)]
    write_clip(i.clip, frames30, audio_seconds=1.0)
    write_clip(i.long, [n * 3000 for n in range(300)], size=(320, 240))
    write_clip(i.vfr, [0, 3000, 4500, 9000, 9900, 15000, 21000], duration=None)
    write_clip(i.rotated, frames30[:10], rotation=90)
    write_clip(i.ten_bit, frames30[:10], pix_fmt="yuv420p10le")
    write_clip(i.odd, frames30[:10], size=(63, 47), pix_fmt="yuv444p")
    remux_audio(i.clip, i.two_audio, copies=2)
    remux_audio(i.clip, i.offset_audio, offset=Fraction(1, 2))
    i.text.write_text("just text\n" * 20)
    i.zero.write_bytes(b"")
    Image.new("RGB", (64, 48), (200, 150, 120)).save(i.image)
    write_audio_only(i.audio)
    whole = i.clip.read_bytes()
    i.truncated.write_bytes(whole[: len(whole) // 2])
    remux_audio(SAMPLE, i.damaged)
    data = bytearray(i.damaged.read_bytes())
    start = len(data) * 6 // 10
    data[start : start + 200] = bytes(b ^ 0xFF for b in data[start : start + 200])
    i.damaged.write_bytes(bytes(data))
    i.dir_input.mkdir()
    i.garbage.write_bytes(bytes(range(256)) * 12)
    i.garbage_weights.write_bytes(b"not weights at all" * 10)
    return i


def remux_audio(src: Path, dst: Path, copies: int = 1, offset: Fraction = Fraction(0)) -> None:
    """Copy a clip's packets into `dst`, its audio stream `copies` times, shifted by `offset` s."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as target:
        video = target.add_stream_from_template(source.streams.video[0])
        audio_in = source.streams.audio[0]
        audios = [target.add_stream_from_template(audio_in) for _ in range(copies)]
        for packet in source.demux(source.streams.video[0], audio_in):
            if packet.dts is None:
                continue
            outs = [video] if packet.stream.type == "video" else audios
            shift = 0 if packet.stream.type == "video" else int(offset / packet.time_base)
            for stream in outs:
                packet.stream = stream
                packet.pts = packet.pts + shift if packet.pts is not None else None
                packet.dts += shift
                target.mux(packet)
                packet.pts = packet.pts - shift if packet.pts is not None else None
                packet.dts -= shift


def count_frames(path: Path) -> int:
    """Decodable video frames; damaged packets are skipped, as a player would."""
    count = 0
    try:
        with av.open(str(path)) as container:
            for packet in container.demux(video=0):
                try:
                    count += len(packet.decode())
                except av.error.FFmpegError:
                    continue
    except (av.error.FFmpegError, OSError, IndexError):
        pass
    return count


def digest(path: Path) -> str:
    if path.is_dir():
        return "folder:" + ",".join(sorted(p.name for p in path.iterdir()))
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def need(path: Path) -> Path:
    if not path.exists():
        raise Skip(f"not found: {path}")
    return path


def enhance(src: Path, out: Path, *more: str, scale: str = "2") -> list[str]:
    return ["enhance", str(src), str(out), "--scale", scale, "--preset", "ultrafast", *more]


def face_model() -> list[str]:
    return ["--face-model", str(need(ICT_NPZ))]


# --- the cases: name -> (inputs, case folder) -> Run ------------------------------------------


def bad_input(name: str, words: str) -> Callable[[Inputs, Path], Run]:
    return lambda i, d: Run(enhance(getattr(i, name), d / "out.mp4"), d / "out.mp4", words=words)


def missing(i: Inputs, d: Path) -> Run:
    return Run(enhance(d / "nope.mp4", d / "out.mp4"), d / "out.mp4", words="not found")


def out_is_in(i: Inputs, d: Path) -> Run:
    argv = enhance(i.clip, i.clip, "--overwrite")
    return Run(argv, i.clip, states=("kept",), words="output is the input")


def existing_out(i: Inputs, d: Path) -> Run:
    (d / "out.mp4").write_bytes(b"an older result")
    return Run(enhance(i.clip, d / "out.mp4"), d / "out.mp4", states=("kept",), words="exists")


def hard_link_out(i: Inputs, d: Path) -> Run:
    os.link(i.clip, d / "link.mp4")
    argv = enhance(i.clip, d / "link.mp4", "--overwrite")
    return Run(argv, d / "link.mp4", states=("kept",), words="is the input")


def report_hard_link(i: Inputs, d: Path) -> Run:
    os.link(i.clip, d / "link.json")
    argv = enhance(i.clip, d / "out.mp4", "--report", str(d / "link.json"), "--overwrite")
    return Run(argv, d / "out.mp4", words="--report is the input", protected=[d / "link.json"])


def report_exists(i: Inputs, d: Path) -> Run:
    (d / "r.json").write_text("keep me")
    argv = enhance(i.clip, d / "out.mp4", "--report", str(d / "r.json"))
    return Run(argv, d / "out.mp4", words="--report exists", protected=[d / "r.json"])


def out_is_folder(i: Inputs, d: Path) -> Run:
    (d / "out.mp4").mkdir()
    argv = enhance(i.clip, d / "out.mp4", "--overwrite")
    return Run(argv, d / "out.mp4", states=("kept",), words="is a folder")


def weights_folder(i: Inputs, d: Path) -> Run:
    argv = enhance(i.clip, d / "out.mp4", "--weights", str(d), scale="4")
    return Run(argv, d / "out.mp4", words="--weights is a folder")


def number(flag: str, value: str, *more: str, out: str = "out.mp4") -> Callable[..., Run]:
    def case(i: Inputs, d: Path) -> Run:
        argv = enhance(i.clip, d / out, *more, flag, value, scale="4")
        return Run(argv, d / out, words=flag)

    return case


def option(words: str, *more: str, out: str = "out.mp4", scale: str = "2") -> Callable[..., Run]:
    def case(i: Inputs, d: Path) -> Run:
        argv = [str(i.clip) if w == "IN" else w for w in more]
        return Run(enhance(i.clip, d / out, *argv, scale=scale), d / out, words=words)

    return case


def stopped(signum: int, code: int, faces: bool = False) -> Callable[[Inputs, Path], Run]:
    def case(i: Inputs, d: Path) -> Run:
        src = SAMPLE if faces else i.long
        more = [*face_model(), "--threads", "1"] if faces else ["--faces", "none"]
        argv = enhance(src, d / "out.mp4", *more, scale="4")
        argv[argv.index("ultrafast")] = "medium"  # slow enough to be caught mid-way
        return Run(argv, d / "out.mp4", codes=(code,), words="", send=signum)

    return case


def extract_stopped(signum: int, code: int) -> Callable[[Inputs, Path], Run]:
    def case(i: Inputs, d: Path) -> Run:
        store = d / "store"
        clip = need(VIDEOS / "grid" / "bbaf2n.mpg")  # faces big enough at x4, 75 frames
        argv = ["extract-priors", str(clip), "--out", str(store), "--scale", "4"]
        argv += [*face_model(), "--degradation", "bicubic"]
        return Run(
            argv,
            store,
            codes=(code,),
            states=("absent", "store kept"),
            send=signum,
            wait_for="store",
        )

    return case


def full_disk(i: Inputs, d: Path) -> Run:
    disk = d / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        raise Skip(f"cannot mount a 1 MB tmpfs ({mounted.stderr.decode().strip() or 'not root'})")
    argv = enhance(i.long, disk / "out.mp4", "--faces", "none", "--crf", "0")
    return Run(argv, disk / "out.mp4", words="space")


def holds(name: str, *more: str, scale: str = "2", faces: bool = False) -> Callable[..., Run]:
    """An odd but valid video: every frame kept, exit 0."""

    def case(i: Inputs, d: Path) -> Run:
        src = getattr(i, name) if name in INPUT_FILES else need(VIDEOS / name)
        suffix = ".mkv" if src.suffix == ".mkv" else ".mp4"
        extra = [*face_model(), "--report", str(d / "r.json")] if faces else ["--faces", "none"]
        argv = enhance(src, d / f"out{suffix}", *extra, *more, scale=scale)
        return Run(argv, d / f"out{suffix}", codes=(0,), states=("complete",), reference=src)

    return case


def damaged(i: Inputs, d: Path) -> Run:
    argv = enhance(i.damaged, d / "out.mkv", "--faces", "none")
    return Run(argv, d / "out.mkv", codes=(0,), states=("complete",), reference=i.damaged)


def face_path_with_overlay(i: Inputs, d: Path) -> Run:
    argv = enhance(SAMPLE, d / "out.mp4", *face_model(), scale="4")
    argv += ["--report", str(d / "r.json"), "--debug-overlay", str(d / "overlay.mp4")]
    return Run(argv, d / "out.mp4", codes=(0,), states=("complete",), reference=SAMPLE)


CASES: dict[str, Callable[[Inputs, Path], Run]] = {
    "input missing": missing,
    "input is a text file": bad_input("text", "not a video"),
    "input is zero bytes": bad_input("zero", "empty"),
    "input is an image": bad_input("image", "still image"),
    "input is audio only": bad_input("audio", "no video stream"),
    "input is truncated": bad_input("truncated", "not a video"),
    "input is a folder": bad_input("dir_input", "folder"),
    "OUT == IN": out_is_in,
    "OUT hard link of IN": hard_link_out,
    "OUT exists, no --overwrite": existing_out,
    "OUT folder missing": option("does not exist", out="no/such/out.mp4"),
    "OUT is a folder": out_is_folder,
    "OUT extension .avi": option("unsupported output extension", out="out.avi"),
    "--report == IN": option("--report is the input", "--report", "IN"),
    "--report == IN, --overwrite": option("--report is the input", "--report", "IN", "--overwrite"),
    "--report hard link of IN": report_hard_link,
    "--report == OUT": option("--report is the output", "--report", "OUT"),
    "--report exists, no --overwrite": report_exists,
    "--report folder missing": option(
        "--report folder does not exist", "--report", "/nonexistent/r.json"
    ),
    "--report /dev/null": option("not a regular file", "--report", os.devnull, "--overwrite"),
    "--debug-overlay == IN": option(
        "--debug-overlay is the input", "--debug-overlay", "IN", scale="4"
    ),
    "--batch-size 0": number("--batch-size", "0"),
    "--batch-size -3": number("--batch-size", "-3"),
    "--min-face nan": number("--min-face", "nan"),
    "--min-face inf": number("--min-face", "inf"),
    "--min-face -5": number("--min-face", "-5"),
    "--strength 2": number("--strength", "2"),
    "--strength nan": number("--strength", "nan"),
    "--crf 99": number("--crf", "99"),
    "--crf 52 (libx264)": option("--crf 52", "--crf", "52"),
    "--crf 70 (libsvtav1)": number("--crf", "70", "--codec", "libsvtav1", out="out.mkv"),
    "--preset bogus": option("--preset 'bogus'", "--preset", "bogus"),
    "--detect-every 0": number("--detect-every", "0"),
    "--threads -1": number("--threads", "-1"),
    "--smooth-lag -1": number("--smooth-lag", "-1"),
    "--scale 3": option("unsupported scale", scale="3"),
    "--codec libfoo": option("unknown codec", "--codec", "libfoo"),
    "webm with libx264": option("webm cannot hold", out="out.webm"),
    "--face-model garbage": option("not a face model file", "--face-model", "GARBAGE", scale="4"),
    "--weights DIR": weights_folder,
    "--weights garbage": option("weights", "--weights", "GARBAGE_WEIGHTS", scale="4"),
    "SIGINT mid-run": stopped(signal.SIGINT, 130),
    "SIGTERM mid-run": stopped(signal.SIGTERM, 143),
    "SIGHUP mid-run": stopped(signal.SIGHUP, 129),
    "SIGTERM mid-run, face path": stopped(signal.SIGTERM, 143, faces=True),
    "extract-priors SIGINT": extract_stopped(signal.SIGINT, 130),
    "extract-priors SIGTERM": extract_stopped(signal.SIGTERM, 143),
    "disk full (1 MB tmpfs)": full_disk,
    "holds: VFR": holds("vfr"),
    "holds: rotated 90": holds("rotated"),
    "holds: 10-bit H.264": holds("ten_bit"),
    "holds: odd size 63x47": holds("odd"),
    "holds: two audio streams": holds("two_audio"),
    "holds: audio offset 0.5 s": holds("offset_audio"),
    "holds: GRID mpg (mp2 audio)": holds("grid/bbaf2n.mpg"),
    "holds: CREMA-D flv (vp6, mp3)": holds("crema_d/1001_DFA_ANG_XX.flv"),
    "holds: OpenMPF mp4 (b-frames)": holds("openmpf/video_01.mp4"),
    "holds: damaged mkv": damaged,
    "holds: face path x4, report, overlay": face_path_with_overlay,
}


# --- running a case ------------------------------------------------------------------------


def expand(argv: list[str], i: Inputs, run_out: Path | None) -> list[str]:
    names = {"GARBAGE": i.garbage, "GARBAGE_WEIGHTS": i.garbage_weights, "OUT": run_out}
    return [str(names[w]) if w in names else w for w in argv]


def start(argv: list[str], cwd: Path) -> subprocess.Popen:
    def child() -> None:
        os.umask(UMASK)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job would inherit SIG_IGN

    return subprocess.Popen(
        [sys.executable, "-m", "facesr_video", *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=child,
    )


def execute(run: Run, folder: Path) -> tuple[int, str]:
    """Run the command (signalled mid-way when asked); (exit code, stderr)."""
    process = start(run.argv, folder)
    if run.send is not None:
        deadline = time.monotonic() + 300
        while not list(folder.rglob(run.wait_for)) and process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                break
            time.sleep(0.05)
        time.sleep(1.0)
        if process.poll() is None:
            process.send_signal(run.send)
    _, err = process.communicate(timeout=900)
    return process.returncode, err


def output_state(run: Run, folder: Path, before: str) -> str:
    leftovers = [p.name for p in folder.rglob("*") if ".partial" in p.name or p.suffix == ".tmp"]
    if leftovers:
        return "partial left: " + ", ".join(sorted(leftovers))
    out = run.output
    if out is None:
        return "-"
    if before != "absent":
        return "kept" if digest(out) == before else "CHANGED"
    if not out.exists():
        return "absent"
    if out.is_dir():
        return "store kept"
    mode = stat.S_IMODE(out.stat().st_mode)
    frames, wanted = count_frames(out), count_frames(run.reference) if run.reference else -1
    if frames != wanted:
        return f"{frames} of {wanted} frames"
    return "complete" if mode == 0o666 & ~UMASK else f"complete, mode {mode:o}"


def message_of(err: str) -> str:
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in lines):
        return "TRACEBACK: " + (lines[-1] if lines else "")
    return lines[-1] if lines else "-"


def run_case(name: str, make: Callable[[Inputs, Path], Run], inputs: Inputs, root: Path) -> Row:
    folder = root / f"case{len(list(root.iterdir())):02d}"
    folder.mkdir()
    try:
        run = make(inputs, folder)
    except Skip as why:
        return Row(name, "-", f"skipped: {why}", "-", "-", "skip")
    run.argv = expand(run.argv, inputs, run.output)
    protected = [*inputs.folder.iterdir(), SAMPLE, *run.protected]
    hashes = {p: digest(p) for p in protected}
    before = digest(run.output) if run.output is not None else "absent"
    try:
        code, err = execute(run, folder)
        intact = all(digest(p) == h for p, h in hashes.items())
        state = output_state(run, folder, before)
    finally:
        if (folder / "disk").is_dir():
            subprocess.run(["umount", str(folder / "disk")], capture_output=True)
    message = message_of(err).replace(f"{root.parent}/", "")  # paths short enough to read
    good = (
        code in run.codes
        and intact
        and state in run.states
        and not message.startswith("TRACEBACK")
        and run.words in message
        and (code == 0 or message.lower().startswith("error:"))
    )
    return Row(name, str(code), message, "yes" if intact else "NO", state, "ok" if good else "FAIL")


def print_row(row: Row) -> None:
    widths = (34, 4, 72, 5, 12, 4)
    cells = (row.case, row.code, row.message, row.intact, row.state, row.ok)
    text = [c if len(c) <= w else c[: w - 3] + "..." for c, w in zip(cells, widths, strict=True)]
    print("  ".join(t.ljust(w) for t, w in zip(text, widths, strict=True)).rstrip(), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose name has this word")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="facesr-hostile-"))
    try:
        inputs = make_inputs(root / "inputs")
        cases = root / "cases"
        cases.mkdir()
        rows = []
        print_row(Row("case", "exit", "message", "input", "output", ""))
        for name, make in CASES.items():
            if args.only.lower() in name.lower():
                rows.append(run_case(name, make, inputs, cases))
                print_row(rows[-1])
        failed = [row for row in rows if row.ok == "FAIL"]
        print(
            f"\n{len(rows)} cases: {len(rows) - len(failed)} green or skipped, {len(failed)} failed"
        )
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
