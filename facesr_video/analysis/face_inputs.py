"""What the network needs of each face besides its pixels: its prior maps and coefficients and,
for a multi-frame network, the motion to its neighbours. Made from the fits alone, so the face
stage makes them on its analysis thread, ahead of the worker that runs the network."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from facesr_video.analysis.motion import NeighbourMotion, face_motion
from facesr_video.analysis.priors import render_face_priors
from facesr_video.analysis.sequence import AnalysedFrame, FaceState
from facesr_video.errors import ModelError
from facesr_video.morph.face_model import FaceModel
from facesr_video.morph.fit import FaceFit
from facesr_video.render.layout import prior_layout
from facesr_video.timing import StageTimes

Neighbours = Sequence[AnalysedFrame[Any] | None]
"""The analysed frames around the current one (None where there is none)."""

PRIOR_SOURCES = ("fitted", "generic", "zero")
"""What the network is given as priors: the face's own fit (what enhance does); the model's mean
face in the fitted pose and lighting, identity and expression zeroed (does the network use *this*
face, or only a face-shaped layout?); or zeros (what the network makes of no priors at all). The
last two are evaluate's controls."""


def generic_fit(fit: FaceFit) -> FaceFit:
    """The same pose, camera and lighting with the model's mean identity and expression."""
    return fit.replace(
        identity=np.zeros_like(fit.identity), expression=np.zeros_like(fit.expression)
    )


@dataclass(frozen=True)
class RenderedFace:
    """One face's (or one batch's) inputs from the renderer, as the network takes them."""

    maps: torch.Tensor | None  # (B, C, n, n) the channels the network reads; None: none
    coeffs: torch.Tensor | None  # (B, D) when the network reads coefficients
    coverage: torch.Tensor  # (B, 1, n, n) the mesh's coverage (for the paste mask)
    motion: NeighbourMotion | None = None  # to the neighbour frames (multi-frame networks)


def prior_channels(model: FaceModel, prior_mode: str, names: tuple[str, ...]) -> list[int]:
    """Indices of the prior maps the network was trained on, looked up by name."""
    if prior_mode == "none":
        return []
    layout = prior_layout(model)
    wanted = names or layout.channels
    missing = [n for n in wanted if n not in layout.channels]
    if missing:
        raise ModelError(
            f"the weights expect prior channels {missing} that this face model's layout "
            f"({layout.version}) does not render",
            "use weights trained with this facesr-video version",
        )
    return [layout.index(n) for n in wanted]


class FaceInputs:
    """Renders priors (and motion) for faces, timing them as "render" and "motion"."""

    def __init__(
        self,
        model: FaceModel,
        network_scale: int,
        channels: list[int],
        uses_coeffs: bool,
        registration: str,
        device: torch.device,
        times: StageTimes,
        source: str = "fitted",
        memory_format: torch.memory_format = torch.channels_last,
    ) -> None:
        if source not in PRIOR_SOURCES:
            raise ValueError(f"priors source must be one of {PRIOR_SOURCES}, got {source!r}")
        self.model, self.network_scale, self.channels = model, network_scale, channels
        self.uses_coeffs, self.registration = uses_coeffs, registration
        self.device, self.times, self.source = device, times, source
        self.memory_format = memory_format  # what the network's runtime reads maps in

    def for_frame(
        self, faces: Sequence[FaceState], neighbours: Neighbours | None = None
    ) -> dict[int, RenderedFace]:
        """Every face of a frame, by track; with `neighbours` (the window's analysed frames,
        None where there is none) also each face's motion to them."""
        by_size: dict[int, list[FaceState]] = defaultdict(list)
        for face in faces:
            by_size[face.alignment.crop_size].append(face)
        made: dict[int, RenderedFace] = {}
        for group in by_size.values():
            for face, one in zip(group, self.render(group), strict=True):
                made[face.track_id] = one
            if neighbours is not None:
                motion = self.motion(group, neighbours)
                for b, face in enumerate(group):
                    one_motion = NeighbourMotion(
                        motion.flow[b : b + 1], motion.confidence[b : b + 1]
                    )
                    made[face.track_id] = replace(made[face.track_id], motion=one_motion)
        return made

    def for_batch(self, faces: list[FaceState], made: dict[int, RenderedFace]) -> RenderedFace:
        """A batch's inputs: those made ahead where they were, else rendered now."""
        if all(f.track_id in made for f in faces):
            ones = [made[f.track_id] for f in faces]
        else:
            ones = self.render(faces)
        if len(ones) == 1:
            return ones[0]

        def joined(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
            return None if parts[0] is None else torch.cat([t for t in parts if t is not None])

        motions = [o.motion for o in ones]
        motion = None
        if all(m is not None for m in motions):
            motion = NeighbourMotion(
                torch.cat([m.flow for m in motions if m is not None]),
                torch.cat([m.confidence for m in motions if m is not None]),
            )
        return RenderedFace(
            joined([o.maps for o in ones]),
            joined([o.coeffs for o in ones]),
            torch.cat([o.coverage for o in ones]),
            motion,
        )

    def render(self, faces: list[FaceState]) -> list[RenderedFace]:
        """The priors of faces of one crop size (one batch), one RenderedFace each."""
        started = time.perf_counter()
        fits = [f.fit for f in faces]
        if self.source == "generic":
            fits = [generic_fit(fit) for fit in fits]
        priors = render_face_priors(
            self.model,
            fits,
            [f.alignment for f in faces],
            self.network_scale,
            self.device,
            detail=1,  # at the crop's own size: the network upscales them as it reads them
            memory_format=self.memory_format,
            upscale=False,
        )
        maps = None
        if self.channels == list(range(priors.maps.shape[1])):
            maps = priors.maps  # every channel, in order: no copy
        elif self.channels:
            maps = priors.maps[:, self.channels]
        coeffs = priors.coefficients if self.uses_coeffs else None
        if self.source == "zero":
            maps = None if maps is None else torch.zeros_like(maps)
            coeffs = None if coeffs is None else torch.zeros_like(coeffs)
        self.times.add("render", time.perf_counter() - started)
        return [
            RenderedFace(
                None if maps is None else maps[b : b + 1],
                None if coeffs is None else coeffs[b : b + 1],
                priors.coverage[b : b + 1],
            )
            for b in range(len(faces))
        ]

    def motion(self, faces: list[FaceState], neighbours: Neighbours) -> NeighbourMotion:
        """Motion from these faces (one crop size) to the same tracks in the neighbour frames
        (analysed frames with `.face(track_id)`, or None)."""
        rows = [
            [frame.face(face.track_id) if frame is not None else None for frame in neighbours]
            for face in faces
        ]
        started = time.perf_counter()
        with torch.inference_mode():
            motion = face_motion(self.model, faces, rows, self.registration, self.device)
        self.times.add("motion", time.perf_counter() - started)
        return motion
