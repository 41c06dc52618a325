"""Inputs shared by the enhance benchmarks: low-resolution clips made from WH, and weights.

Not a benchmark itself (imported by bench_enhance*.py, which run as scripts from this folder).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from facesr_video.dataset.degrade.bicubic import downscale
from facesr_video.enhance.prepare import shipped_weights

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
WH = SHARED / "data/videos/whitehouse"
WH_CLIP = WH / "wh_obama_01.mp4"
ICT_NPZ = SHARED / "facemodels/ict-facekit/ict_face_light.npz"


def require(path: Path) -> Path:
    """The path, or exit saying which shared file is missing (benchmarks need real data)."""
    if not path.exists():
        raise SystemExit(f"shared data not found: {path} (benchmarks read ../shared)")
    return path


def decode_rgb(path: Path, max_frames: int | None = None) -> list[np.ndarray]:
    """Every frame of the first video stream as (H, W, 3) uint8 RGB (short clips only)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if max_frames is not None and len(frames) >= max_frames:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
    return frames


def shrink(frame: np.ndarray, scale: int | None = None, size: tuple[int, int] | None = None):
    """(H, W, 3) uint8 -> (H/S, W/S, 3) by degrade.bicubic, or to `size` (w, h) by Pillow bicubic.

    Both are antialiased bicubic; `size` is for targets that are not an integer factor.
    """
    if size is None:
        return downscale(frame, int(scale or 1))
    image = Image.fromarray(np.ascontiguousarray(frame))
    return np.asarray(image.resize(size, Image.Resampling.BICUBIC, reducing_gap=None))


def ping_pong(count: int, length: int) -> Iterator[int]:
    """Indices 0..length-1 forwards then backwards, repeated, `count` in all (no jump cuts)."""
    period = max(1, 2 * length - 2)
    for i in range(count):
        k = i % period
        yield k if k < length else period - k


def write_video(
    frames: list[np.ndarray],
    path: Path,
    rate: Fraction,
    count: int | None = None,
    audio_from: Path | None = None,
) -> Path:
    """Encode `count` frames (ping-pong looped) with libx264 crf 12; copy the audio if given.

    Audio packets are copied only up to the video's length, so looped inputs get the clip's
    audio once (enough to exercise the passthrough).
    """
    count = len(frames) if count is None else count
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as dst:
        video = dst.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "veryfast", "crf": "12"}
        audio_out = None
        source = av.open(str(audio_from)) if audio_from is not None else None
        if source is not None and source.streams.audio:
            audio_out = dst.add_stream_from_template(source.streams.audio[0])
        for i, k in enumerate(ping_pong(count, len(frames))):
            frame = av.VideoFrame.from_ndarray(frames[k], format="rgb24")
            frame.pts, frame.time_base = i, 1 / rate
            for packet in video.encode(frame):
                dst.mux(packet)
        for packet in video.encode(None):
            dst.mux(packet)
        if source is not None and audio_out is not None:
            audio_in = source.streams.audio[0]
            limit = count / rate
            for packet in source.demux(audio_in):
                if packet.dts is None:
                    continue
                if packet.pts is not None and packet.pts * audio_in.time_base >= limit:
                    break
                packet.stream = audio_out
                dst.mux(packet)
        if source is not None:
            source.close()
    return path


def clip_rate(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        return Fraction(container.streams.video[0].average_rate or 25)


def make_untrained_weights(path: Path, scale: int) -> Path:
    """Untrained sam-light weights (seeded) in the shipped layout: mechanics only, no quality."""
    import torch

    from facesr_video.render.layout import CHANNELS_V1, LAYOUT_VERSION
    from facesr_video.sr.network import create_model
    from facesr_video.sr.weights import save_model

    torch.manual_seed(0)
    net = create_model(
        "sam-light", scale=scale, prior_mode="all", prior_channels=len(CHANNELS_V1), coeff_dim=186
    )
    return save_model(net, path, LAYOUT_VERSION, CHANNELS_V1, recipe={"note": "untrained bench"})


def resolve_weights(given: Path | None, scale: int, tmp: Path) -> tuple[Path, bool]:
    """(weights path, trained?): the given file, the shipped one, or untrained ones in tmp."""
    if given is not None:
        return require(Path(given)), True
    path = shipped_weights(scale)
    if path.is_file():
        return path, True
    return make_untrained_weights(tmp / f"untrained-x{scale}.safetensors", scale), False


def weights_note(trained: dict[int, bool]) -> str | None:
    """The warning to print when any scale ran on untrained weights."""
    missing = [f"x{s}" for s, ok in sorted(trained.items()) if not ok]
    if not missing:
        return None
    return (
        f"WARNING: no shipped weights for {', '.join(missing)}: ran UNTRAINED sam-light weights "
        "(same architecture and cost, so speed and memory are valid; quality figures are "
        "meaningless)"
    )


def temp_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)


def with_window(weights: Path, frames: int, tmp: Path) -> Path:
    """Weights whose network fuses `frames` frames: these if they already do, else a copy grown
    to that window (fusion weights untrained: same cost, said by the caller)."""
    from dataclasses import replace

    from facesr_video.sr.network import SAMNet
    from facesr_video.sr.weights import load_model, read_info, save_model

    info = read_info(weights)
    if info.config.frames == frames or frames == 1:
        return weights
    parent, _ = load_model(weights)
    grown = SAMNet(replace(parent.config, frames=frames))
    grown.load_state_dict(parent.state_dict(), strict=False)
    path = tmp / f"{weights.stem}-{frames}f.safetensors"
    save_model(grown, path, info.layout_version, info.layout_channels, {"note": "bench"})
    return path
