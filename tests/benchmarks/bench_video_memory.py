"""Peak memory of `enhance` on a 10 s and a 60 s input of the same frame size.

    python tests/benchmarks/bench_video_memory.py [--scale 2]

Both inputs are made here with PyAV (GRID frames looped, 25 fps, with AAC audio copied through);
each enhance runs in its own process and its peak RSS (ru_maxrss) is read with os.wait4.
Streaming means the ratio 60 s / 10 s stays near 1 (target <= 1.1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO.parent / "shared/data/videos/grid/sbwe5n.mpg"


def make_input(path: Path, seconds: int) -> Path:
    """`seconds` of GRID frames looped at 25 fps, plus a 440 Hz AAC tone of the same length."""
    with av.open(str(SOURCE)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as dst:
        video = dst.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "crf": "23"}
        audio = dst.add_stream("aac", rate=44100, layout="mono")
        samples = 0
        for i in range(seconds * 25):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            for packet in video.encode(frame):
                dst.mux(packet)
            while samples < (i + 1) * 44100 // 25:
                t = np.arange(samples, samples + 1024) / 44100
                chunk = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
                aframe = av.AudioFrame.from_ndarray(chunk, "fltp", "mono")
                aframe.sample_rate, aframe.pts = 44100, samples
                aframe.time_base = Fraction(1, 44100)
                samples += 1024
                for packet in audio.encode(aframe):
                    dst.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                dst.mux(packet)
    return path


def peak_rss_mib(src: Path, out: Path, scale: int) -> float:
    cmd = [
        sys.executable,
        "-m",
        "facesr_video",
        "-q",
        "enhance",
        str(src),
        str(out),
        "--scale",
        str(scale),
        "--preset",
        "ultrafast",
        "--overwrite",
        "--faces",
        "none",
    ]
    process = subprocess.Popen(cmd)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"enhance failed on {src}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        short = make_input(Path(tmp) / "10s.mp4", 10)
        long = make_input(Path(tmp) / "60s.mp4", 60)
        a = peak_rss_mib(short, Path(tmp) / "o10.mp4", args.scale)
        b = peak_rss_mib(long, Path(tmp) / "o60.mp4", args.scale)
    print(f"360x288 -> x{args.scale}, libx264 ultrafast, AAC copied")
    print(f"peak RSS 10 s input: {a:8.1f} MiB")
    print(f"peak RSS 60 s input: {b:8.1f} MiB")
    print(f"ratio 60 s / 10 s  : {b / a:.3f}  (target <= 1.1)")


if __name__ == "__main__":
    main()
