"""Make the README's before/after picture: plain bicubic upscale beside `facesr-video enhance`.

    python tools/make_before_after.py                       # writes docs/before_after.png
    python tools/make_before_after.py --enhanced OUT.mp4     # reuse an enhanced video

Runs `facesr-video enhance INPUT OUT --scale S` once (unless --enhanced is given), takes one
frame of the low-resolution input and the same frame of the output, upscales the input frame
plainly (bicubic, Pillow) to the output's size, crops both to the face (the region where the
two differ most: enhance upscales the background plainly too) and sets them side by side with
small labels and the sample's attribution.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "crema_d_1001_HAP_120x90.mp4"
CREDIT = "Sample: CREMA-D (Cao et al., 2014), ODbL 1.0 / DbCL 1.0; see samples/README.md"
PANEL = 300  # pixels per side of each panel
LABEL_H = 22
CAPTION_H = 20
GAP = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=SAMPLE, help="low-resolution video")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4, 8))
    parser.add_argument(
        "--frame", type=int, default=None, help="frame index (default: 40, or the middle one)"
    )
    parser.add_argument("--enhanced", type=Path, default=None, help="skip enhance, use this")
    parser.add_argument("--face-model", type=Path, default=None, help="passed to enhance")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "before_after.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        enhanced = args.enhanced or run_enhance(
            args.input, Path(tmp) / "enhanced.mp4", args.scale, args.face_model
        )
        low = read_frames(args.input)
        high = read_frames(enhanced)
    if len(low) != len(high):
        sys.exit(f"frame counts differ: input {len(low)}, enhanced {len(high)}")
    index = args.frame if args.frame is not None else (40 if len(low) > 40 else len(low) // 2)
    if not 0 <= index < len(low):
        sys.exit(f"--frame must be in 0..{len(low) - 1}")

    sr = high[index]
    plain = low[index].resize(sr.size, Image.Resampling.BICUBIC)
    box = face_box(plain, sr)
    picture = compose(plain.crop(box), sr.crop(box), low[index].size, sr.size, args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.out, optimize=True)
    print(f"{args.out}: frame {index}, crop {box}, {args.out.stat().st_size / 1024:.0f} KB")


def run_enhance(source: Path, out: Path, scale: int, face_model: Path | None) -> Path:
    """Run the command line once, as a user would; returns OUT."""
    cmd = [
        sys.executable,
        "-m",
        "facesr_video",
        "enhance",
        str(source),
        str(out),
        "--scale",
        str(scale),
    ]
    if face_model is not None:
        cmd += ["--face-model", str(face_model)]
    print(" ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)
    return out


def read_frames(path: Path) -> list[Image.Image]:
    """Every video frame of PATH as an RGB Pillow image, in order."""
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def face_box(plain: Image.Image, sr: Image.Image) -> tuple[int, int, int, int]:
    """A square (left, top, right, bottom) around where the enhanced frame departs from plain.

    The background of an enhanced frame is a plain upscale too, so the blurred absolute
    difference is large only where a face was super-resolved.
    """
    diff = np.abs(np.asarray(plain, np.float32) - np.asarray(sr, np.float32)).mean(axis=2)
    blur = np.asarray(
        Image.fromarray(np.clip(diff * 8, 0, 255).astype(np.uint8)).filter(
            ImageFilter.BoxBlur(max(2, sr.width // 60))
        ),
        np.float32,
    )
    width, height = sr.size
    mask = blur >= max(8.0, 0.35 * float(blur.max()))
    if not mask.any():  # no face was enhanced: fall back to the centre of the frame
        cx, cy, side = width / 2, height / 2, min(width, height) * 0.6
    else:
        ys, xs = np.nonzero(mask)
        x0, x1 = np.percentile(xs, [2, 98])
        y0, y1 = np.percentile(ys, [2, 98])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        side = max(x1 - x0, y1 - y0) * 1.15
    side = int(min(side, width, height))
    left = int(np.clip(cx - side / 2, 0, width - side))
    top = int(np.clip(cy - side / 2, 0, height - side))
    return left, top, left + side, top + side


def compose(
    plain: Image.Image,
    sr: Image.Image,
    low_size: tuple[int, int],
    high_size: tuple[int, int],
    scale: int,
) -> Image.Image:
    """Two labelled panels side by side and a caption line below."""
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    width = 2 * PANEL + 3 * GAP
    height = LABEL_H + PANEL + CAPTION_H + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    labels = (
        f"input {low_size[0]}x{low_size[1]}, bicubic x{scale}",
        f"facesr-video enhance --scale {scale}",
    )
    for i, (panel, label) in enumerate(zip((plain, sr), labels, strict=True)):
        x = GAP + i * (PANEL + GAP)
        canvas.paste(panel.resize((PANEL, PANEL), Image.Resampling.LANCZOS), (x, LABEL_H))
        draw.text((x + 2, 4), label, fill="black", font=font)
    caption = f"face region of one {high_size[0]}x{high_size[1]} frame.  {CREDIT}"
    draw.text((GAP + 2, LABEL_H + PANEL + 4), caption, fill=(70, 70, 70), font=small)
    return canvas


if __name__ == "__main__":
    main()
