"""The face path of `enhance`: analyse -> fit -> smooth -> render priors -> SR -> blend.

`FaceStage` is a frame stage (`Iterator[Frame] -> Iterator[Frame]`): low-resolution frames in,
upscaled frames out, in order, `smooth_lag` frames later. Each frame's background is the plain
upscale; every face with a usable fit is super-resolved in its aligned crop and pasted back
through the exact inverse warp with a feathered mask from the render's coverage. A face whose fit
is unreliable or whose smoother confidence drops fades toward the plain path over a few frames.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from facesr_video.analysis.face_inputs import FaceInputs, RenderedFace, prior_channels
from facesr_video.analysis.face_tracks import AnalyzerConfig
from facesr_video.analysis.motion import NeighbourMotion, frame_positions
from facesr_video.analysis.sequence import (
    AnalysedFrame,
    AnalysisConfig,
    FaceState,
    Observed,
    SequenceAnalyser,
)
from facesr_video.analysis.window import FrameWindow, Window, window_offsets
from facesr_video.enhance.background import upscale_frame
from facesr_video.enhance.blend import FadeWeight, border_ramp, feathered_mask, match_colour
from facesr_video.enhance.stabilise import STRENGTH, DetailStabiliser
from facesr_video.errors import ModelError
from facesr_video.faces.align import blend_shifted, paste, warp_affine, whole_pixel_shifts
from facesr_video.faces.overlay import draw_overlay
from facesr_video.morph.face_model import FaceModel
from facesr_video.ordered_pool import OrderedPool
from facesr_video.sr.bilinear import upscale_bilinear, upscaled_block_mean
from facesr_video.sr.neighbours import NeighbourInputs, warp_neighbours
from facesr_video.sr.network import SAMNet
from facesr_video.sr.runtimes import NetworkInputs, create_runtime
from facesr_video.sr.weights import WeightsInfo
from facesr_video.timing import StageTimes
from facesr_video.video.decode import Frame

IN_FLIGHT = 2  # analysed frames queued for the SR worker
DETECT_AHEAD = 2  # frames the face detection thread runs ahead of the fits


@dataclass
class ThreadLoad:
    """Seconds each side of the face path has been busy. The background upscale needs neither
    the analysis nor the network, so it goes to the side with less to do: which one that is
    depends on the runtime, the scale and the footage (OpenVINO's network leaves the analysis
    thread the busier one; torch's leaves the worker)."""

    analysis: float = 0.0
    worker: float = 0.0


STAGES = ("decode", "detect", "fit", "smooth", "render", "motion", "sr", "blend", "encode")


PASTE_MODES = ("crop", "mesh")


@dataclass(frozen=True)
class FaceOptions:
    """What the face path does (the CLI's face options)."""

    weights: Path | None = None  # None: the shipped weights for the scale and input quality
    # auto: read from the input's stream (video/quality.py); clean or compressed: as given.
    # On clean input a face takes its low frequencies from the low-resolution crop (the plain
    # path's colours); on compressed input the network's own, because the coded crop's carry the
    # codec's errors, which the network for compressed input corrects (White House x4 H.264:
    # +1.14 dB against +1.07 with the match; clean input: +1.97 against +1.95 without it).
    input_quality: str = "auto"
    face_model: Path | None = None  # None: the installed model (or FACESR_FACE_MODEL)
    device: str = "auto"
    half: bool = True  # float16 on CUDA, bfloat16 with OpenVINO where the CPU has it
    runtime: str = "auto"  # auto | torch | openvino (sr/runtimes)
    batch_size: int = 8  # faces per network call
    faces: str = "all"  # all | largest
    min_face: float = 20.0  # low-resolution pixels
    detector: str = "hog"
    detect_every: int = 2
    strength: float = 1.0  # 0 = plain upscale, 1 = full SR face
    smoothing: bool = True
    smooth_lag: int = 5
    debug_overlay: Path | None = None
    threads: int = 0  # torch CPU threads; 0: every core but one on CPU (prepare.set_torch_threads)
    # crop: the whole SR crop, feathered at its border (what the network was trained on; +0.19 dB
    # on the White House clips at x4); mesh: only the render's coverage, eroded.
    paste: str = "crop"
    # Frames the network sees (odd): the current one and its neighbours, registered by the 3D
    # fits. None: the network's own window (1 for single-frame weights).
    frames: int | None = None
    registration: str = "mesh"  # mesh | box (the face boxes alone: the ablation)
    # Weight of the previous frame's detail where the face's crops agree (stabilise.py; 0: off).
    stabilise: float = STRENGTH
    # Priors given to the network (face_inputs.PRIOR_SOURCES): the face's own fit; evaluate's
    # controls give the mean face in the same pose, or zeros.
    priors: str = "fitted"


@dataclass
class TrackReport:
    """Per-track figures for `--report`."""

    track_id: int
    frames: int = 0
    enhanced_frames: int = 0
    confidence_sum: float = 0.0
    residual_sum: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        n = max(1, self.frames)
        return {
            "track": self.track_id,
            "frames": self.frames,
            "enhanced_frames": self.enhanced_frames,
            "mean_confidence": self.confidence_sum / n,
            "mean_fit_residual": self.residual_sum / n,
        }


def face_weight(face: FaceState) -> float:
    """Target blend weight: the smoother's confidence, lowered while dlib only predicts the face."""
    if not face.reliable:
        return 0.0
    observation_trust = min(1.0, 2.0 * face.observation.quality)
    return float(face.confidence) * observation_trust


class FaceStage:
    """Callable frame stage that super-resolves the faces of a low-resolution stream."""

    def __init__(
        self,
        model: FaceModel,
        network: SAMNet,
        weights_info: WeightsInfo,
        scale: int,
        options: FaceOptions,
        device: torch.device,
        background: str = "bicubic",
    ) -> None:
        self.model = model
        self.weights_info = weights_info
        self.scale = scale
        # The network's own factor: without x2 weights, x2 is the x4 network's output resampled
        self.network_scale = network.config.scale
        self.options = options
        self.device = device
        self.background = background
        # The runtime holds its own copy of the weights, so the caller's network is left as it
        # was (evaluate hands one network to many stages). torch: a copy on the stage's device,
        # float16 on CUDA with --half, channels-last on CPU (faster oneDNN convolutions).
        # OpenVINO on CPU: a graph converted from the same weights, bfloat16 with --half where
        # the CPU has it.
        self.runtime = create_runtime(
            options.runtime,
            network,
            device,
            precision="auto" if options.half else "fp32",
            threads=torch.get_num_threads(),
        )
        config = network.config
        self.frames = options.frames or config.frames
        if self.frames > 1 and config.neighbours == 0:
            raise ModelError(
                f"--frames {self.frames} needs multi-frame weights; these are single-frame",
                "use --frames 1, or weights trained with `train --frames N`",
            )
        self.offsets = window_offsets((self.frames - 1) // 2)
        self.analysis_config = AnalysisConfig(
            faces=AnalyzerConfig(
                detector=options.detector,
                detect_every=options.detect_every,
                min_face=options.min_face,
                faces=options.faces,
            ),
            smoothing=options.smoothing,
            smooth_lag=options.smooth_lag,
        )
        self.analyser: SequenceAnalyser[Frame] | None = None
        self.times = StageTimes(STAGES)
        self.load = ThreadLoad()
        self.inputs = FaceInputs(
            model,
            self.network_scale,
            prior_channels(model, config.prior_mode, weights_info.layout_channels),
            config.uses_coeffs,
            options.registration,
            device,
            self.times,
            source=options.priors,
            memory_format=self.runtime.layout,
        )
        self.tracks: dict[int, TrackReport] = {}
        self.faces_enhanced = 0
        self._fades: dict[int, FadeWeight] = {}
        self._frames_out = 0
        self.stabiliser = DetailStabiliser(self.scale, options.stabilise)
        # Receives the low-resolution frame with boxes, landmarks and fitted landmarks drawn.
        self.overlay_sink: Callable[[Frame], None] | None = None

    # -- the stage -------------------------------------------------------------------------

    def __call__(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """Three-stage pipeline: one thread detects and tracks the faces (dlib, outside the GIL)
        a few frames ahead of this one, which decodes, fits and renders the priors, while a
        third super-resolves and blends (torch releases the GIL), so both CPU cores stay busy.
        At most `DETECT_AHEAD` and `IN_FLIGHT` frames wait in between: memory stays bounded."""
        self.analyser = analyser = SequenceAnalyser(self.model, self.analysis_config)
        window: FrameWindow[Frame] = FrameWindow(self.offsets)
        iterator = iter(frames)
        with (
            OrderedPool[Frame](IN_FLIGHT, "facesr-sr") as worker,
            OrderedPool[tuple[Frame, Observed]](DETECT_AHEAD, "facesr-detect") as detector,
        ):
            while True:
                started = time.perf_counter()
                frame = next(iterator, None)
                self.times.add("decode", time.perf_counter() - started)
                self.load.analysis += time.perf_counter() - started
                if frame is None:
                    break
                for seen, observed in detector.submit(self._observe, analyser, frame):
                    yield from self._analyse(worker, window, seen, observed)
            for seen, observed in detector.drain():
                yield from self._analyse(worker, window, seen, observed)
            for analysed, neighbours in window.push(analyser.finish()) + window.finish():
                yield from self._submit(worker, analysed, neighbours)
            yield from worker.drain()

    @staticmethod
    def _observe(analyser: SequenceAnalyser[Frame], frame: Frame) -> tuple[Frame, Observed]:
        return frame, analyser.observe(frame.index, frame.rgb)

    def _analyse(
        self,
        worker: OrderedPool[Frame],
        window: FrameWindow[Frame],
        frame: Frame,
        observed: Observed,
    ) -> Iterator[Frame]:
        """Fit and smooth a frame's observed faces; submit the frames that come out ready."""
        started = time.perf_counter()
        ready = self.analyser.push(frame.index, frame.rgb, frame, observed)
        self._sync_analysis_times()
        self.load.analysis += time.perf_counter() - started
        for analysed, neighbours in window.push(ready):
            yield from self._submit(worker, analysed, neighbours)

    def _submit(
        self, worker: OrderedPool[Frame], analysed: AnalysedFrame[Frame], neighbours: Window[Frame]
    ) -> list[Frame]:
        """Hand a frame to the worker with the faces' priors made here on the analysis thread,
        and the upscaled background too while the worker is the busier of the two."""
        started = time.perf_counter()
        priors = self.render_ahead(analysed, neighbours)
        background = self.upscaled(analysed) if self.load.worker > self.load.analysis else None
        self.load.analysis += time.perf_counter() - started
        return worker.submit(self._timed_enhance, analysed, neighbours, priors, background)

    def _timed_enhance(
        self,
        analysed: AnalysedFrame[Frame],
        neighbours: Window[Frame],
        rendered: dict[int, RenderedFace],
        upscaled: np.ndarray | None,
    ) -> Frame:
        started = time.perf_counter()
        try:
            return self.enhance_frame(analysed, neighbours, rendered, upscaled)
        finally:
            self.load.worker += time.perf_counter() - started

    def upscaled(self, analysed: AnalysedFrame[Frame]) -> np.ndarray:
        """The frame upscaled by the background method (the plain path's output), timed as
        part of "blend"."""
        started = time.perf_counter()
        output = upscale_frame(analysed.payload.rgb, self.scale, self.background)
        self.times.add("blend", time.perf_counter() - started)
        return output

    def _sync_analysis_times(self) -> None:
        if self.analyser is not None:
            self.times.update(self.analyser.seconds)

    @property
    def colour_from_crop(self) -> bool:
        """Faces take their low frequencies from the low-resolution crop: on clean input only
        (FaceOptions.input_quality)."""
        return self.options.input_quality != "compressed"

    def render_ahead(
        self, analysed: AnalysedFrame[Frame], neighbours: Window[Frame] = ()
    ) -> dict[int, RenderedFace]:
        """The network's inputs for every face of a frame but its pixels (analysis/face_inputs.py),
        made here on the analysis thread so the worker only warps, runs the network and pastes."""
        if self.options.strength <= 0.0 or not analysed.faces:
            return {}
        return self.inputs.for_frame(analysed.faces, neighbours if self.offsets else None)

    def enhance_frame(
        self,
        analysed: AnalysedFrame[Frame],
        neighbours: Window[Frame] = (),
        rendered: dict[int, RenderedFace] | None = None,
        upscaled: np.ndarray | None = None,
    ) -> Frame:
        """The upscaled frame with its faces super-resolved and blended in; `neighbours` are the
        analysed frames at `self.offsets` (None where there is none); `rendered`: the faces'
        priors from `render_ahead` and `upscaled` the background from `upscaled` (both made here
        when not given)."""
        frame = analysed.payload
        output = self.upscaled(analysed) if upscaled is None else upscaled
        active: list[tuple[FaceState, float]] = []
        seen = set()
        for face in analysed.faces:
            seen.add(face.track_id)
            report = self.tracks.setdefault(face.track_id, TrackReport(face.track_id))
            report.frames += 1
            report.confidence_sum += face.confidence
            report.residual_sum += min(face.fit.residual, 10.0)
            target = face_weight(face)
            if face.track_id not in self._fades:
                # A face already there on the first frame (a still image, say) has nothing to
                # pop out of: it starts at full weight. Faces that appear later fade in.
                start = target if self._frames_out == 0 else 0.0
                self._fades[face.track_id] = FadeWeight(start=start)
            weight = self._fades[face.track_id].update(target) * self.options.strength
            if weight > 0.0:
                active.append((face, weight))
                report.enhanced_frames += 1
        for track_id in [t for t in self._fades if t not in seen]:
            del self._fades[track_id]
        self.stabiliser.forget(seen)
        if active:
            output = self._enhance_faces(
                frame.rgb, np.array(output), active, neighbours, rendered or {}
            )
            self.faces_enhanced += len(active)
        self._frames_out += 1
        if self.overlay_sink is not None:
            self.overlay_sink(frame.with_rgb(self._overlay(frame.rgb, analysed.faces)))
        return frame.with_rgb(output)

    # -- faces -----------------------------------------------------------------------------

    def _enhance_faces(
        self,
        lr_rgb: np.ndarray,
        hr_rgb: np.ndarray,
        faces: list[tuple[FaceState, float]],
        neighbours: Window[Frame],
        rendered: dict[int, RenderedFace],
    ) -> np.ndarray:
        by_size: dict[int, list[tuple[FaceState, float]]] = defaultdict(list)
        for face, weight in faces:
            by_size[face.alignment.crop_size].append((face, weight))
        lr = torch.from_numpy(np.ascontiguousarray(lr_rgb)).to(self.device)
        lr = lr.permute(2, 0, 1)[None].float() / 255.0
        for size, group in by_size.items():
            for start in range(0, len(group), self.options.batch_size):
                batch = group[start : start + self.options.batch_size]
                faces_in = [f for f, _ in batch]
                priors = self.inputs.for_batch(faces_in, rendered)
                crops, coverage = self._super_resolve(lr, faces_in, size, priors, neighbours)
                started = time.perf_counter()
                for (face, weight), crop, cover in zip(batch, crops, coverage, strict=True):
                    hr_rgb = self._paste(hr_rgb, face, crop[None], cover[None], weight)
                self.times.add("blend", time.perf_counter() - started)
        return hr_rgb

    def _super_resolve(
        self,
        lr_frame: torch.Tensor,
        faces: list[FaceState],
        size: int,
        priors: RenderedFace,
        neighbours: Window[Frame] = (),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SR crops (B, 3, S*n, S*n) in [0, 1] and coverage (B, 1, S*n, S*n) of faces of size n."""
        started = time.perf_counter()
        matrices = np.stack([f.alignment.crop_from_frame for f in faces])
        lr_crops = warp_affine(lr_frame.expand(len(faces), -1, -1, -1), matrices, size)
        maps, coeffs = priors.maps, priors.coeffs
        fused = None
        if self.offsets:
            fused = self._neighbour_inputs(lr_crops, faces, neighbours, priors.motion)
        out = self.runtime.forward(
            NetworkInputs(
                lr=lr_crops,
                priors=maps,
                coeffs=coeffs,
                warped=None if fused is None else fused.warped,
                confidence=None if fused is None else fused.confidence,
            )
        )
        sr = out.float().contiguous().clamp(0.0, 1.0)
        if self.network_scale != self.scale:  # x2 from the x4 network
            sr = F.interpolate(
                sr, size=(size * self.scale,) * 2, mode="bicubic", antialias=True
            ).clamp(0.0, 1.0)
        # Colour from the low-resolution crop itself (the plain path's colours), matched at
        # low resolution where the large blur kernels are cheap.
        coverage = upscaled_block_mean(priors.coverage, self.network_scale)
        if self.options.paste == "crop":
            mask_lr = border_ramp(size, size, 0.06, coverage).expand_as(coverage).contiguous()
        else:
            mask_lr = feathered_mask(coverage)
        if self.colour_from_crop:
            sr = match_colour(sr, lr_crops, mask_lr, self.scale)
        if self.options.stabilise > 0:
            sr = torch.cat(
                [
                    self.stabiliser(
                        face.track_id, face.alignment, lr_crops[b : b + 1], sr[b : b + 1]
                    )
                    for b, face in enumerate(faces)
                ]
            )
        mask = upscale_bilinear(mask_lr, self.scale)
        self.times.add("sr", time.perf_counter() - started)
        return sr, mask

    def _neighbour_inputs(
        self,
        lr_crops: torch.Tensor,
        faces: list[FaceState],
        neighbours: Window[Frame],
        motion: NeighbourMotion | None = None,
    ) -> NeighbourInputs:
        """The same faces in the neighbour frames, registered onto these crops and warped
        (`motion`: computed ahead by `render_ahead`, else here)."""
        if motion is None:
            motion = self.inputs.motion(faces, neighbours)
        positions = torch.stack(
            [frame_positions(face.alignment, motion.flow[b]) for b, face in enumerate(faces)]
        )
        images, positions, inside = _windows(
            [frame.payload.rgb if frame is not None else None for frame in neighbours],
            positions,
            self.device,
        )
        return warp_neighbours(lr_crops, images, positions, motion.confidence * inside)

    def _paste(
        self,
        hr_rgb: np.ndarray,
        face: FaceState,
        crop: torch.Tensor,
        mask: torch.Tensor,
        weight: float,
    ) -> np.ndarray:
        """Warp one SR crop back into the (H, W, 3) uint8 frame, only over its bounding region."""
        alignment = face.alignment.scaled(self.scale)
        size = alignment.crop_size
        corners = np.array([[-0.5, -0.5, 1], [size - 0.5, -0.5, 1], [-0.5, size - 0.5, 1]])
        corners = np.vstack([corners, [size - 0.5, size - 0.5, 1]])
        frame_corners = corners @ alignment.frame_from_crop.T
        height, width = hr_rgb.shape[:2]
        x0 = int(max(0, np.floor(frame_corners[:, 0].min())))
        y0 = int(max(0, np.floor(frame_corners[:, 1].min())))
        x1 = int(min(width, np.ceil(frame_corners[:, 0].max()) + 1))
        y1 = int(min(height, np.ceil(frame_corners[:, 1].max()) + 1))
        if x1 <= x0 or y1 <= y0:
            return hr_rgb
        crop_from_region = alignment.crop_from_frame.copy()
        crop_from_region[:, 2] += crop_from_region[:, :2] @ np.array([x0, y0], np.float64)
        shifts = whole_pixel_shifts(crop_from_region[None])
        if shifts is not None:  # native crops: a copy-blend, no resampling
            blend_shifted(hr_rgb[y0:y1, x0:x1], crop[0], mask[0] * weight, *shifts[0])
            return hr_rgb
        region = torch.from_numpy(hr_rgb[y0:y1, x0:x1]).to(self.device)
        region = region.permute(2, 0, 1)[None].float() / 255.0
        blended = paste(region, crop, crop_from_region, mask * weight)
        pixels = (blended[0].permute(1, 2, 0).clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
        hr_rgb[y0:y1, x0:x1] = pixels.cpu().numpy()
        return hr_rgb

    @staticmethod
    def _overlay(lr_rgb: np.ndarray, faces: tuple[FaceState, ...]) -> np.ndarray:
        """dlib's boxes, ids and landmarks, plus the smoothed fit's landmarks in yellow."""
        image = Image.fromarray(draw_overlay(lr_rgb, [f.observation for f in faces]))
        draw = ImageDraw.Draw(image)
        for face in faces:
            for x, y in face.landmarks68:
                draw.point((float(x), float(y)), fill=(255, 230, 0))
        return np.asarray(image)


def _windows(
    frames: list[np.ndarray | None], positions: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut from each neighbour frame the window its positions reach, so only the face's region
    is converted to float (not B x N whole frames).

    frames: N (H, W, 3) uint8 frames (None: missing); positions (B, N, n, n, 2) frame pixels.
    Returns images (B, N, 3, w, w), positions in them, and `inside` (B, N, 1, n, n): 1 where the
    position lies in the frame (the window's border repeats the frame's edge, as sampling would).
    """
    batch, count, n = positions.shape[0], positions.shape[1], positions.shape[2]
    low = torch.floor(positions.amin(dim=(2, 3))) - 1  # (B, N, 2)
    span = positions.amax(dim=(2, 3)) - low  # (B, N, 2)
    side = max(int(torch.ceil(span.max()).item()) + 2, 1)
    images = torch.zeros((batch, count, 3, side, side), device=device)
    inside = torch.zeros((batch, count, 1, n, n), device=device)
    offsets = torch.arange(side)
    for i, rgb in enumerate(frames):
        if rgb is None:
            continue
        height, width = rgb.shape[:2]
        for b in range(batch):
            x0, y0 = int(low[b, i, 0]), int(low[b, i, 1])
            xs = (x0 + offsets).clamp(0, width - 1).numpy()
            ys = (y0 + offsets).clamp(0, height - 1).numpy()
            cut = np.ascontiguousarray(rgb[ys[:, None], xs[None, :]])
            images[b, i] = torch.from_numpy(cut).to(device).permute(2, 0, 1).float() / 255.0
            x, y = positions[b, i, ..., 0], positions[b, i, ..., 1]
            ok = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
            inside[b, i, 0] = ok.float()
    return images, positions - low[:, :, None, None, :], inside
