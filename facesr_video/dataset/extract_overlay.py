"""`--overlay`: a video per input showing what the fit saw, to check the analysis by eye.

Each analysed low-resolution frame is enlarged by S (nearest, so its pixels stay visible) and the
fitted mesh's front-facing wireframe (every few edges) and its projected 68 landmarks are drawn
on it, coloured per track. Written to STORE/overlays/<source id with / -> __>.mp4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facesr_video.analysis.sequence import AnalysedFrame
from facesr_video.faces.overlay import track_colour
from facesr_video.morph.camera import camera_vertices, project
from facesr_video.morph.draw import draw_mesh, front_facing
from facesr_video.morph.face_model import FaceModel
from facesr_video.video.decode import Frame
from facesr_video.video.encode import EncodeSettings, VideoTarget, VideoWriter
from facesr_video.video.probe import VideoInfo

EDGE_STEP = 12  # the ICT mesh has ~28k edges: a sparse wireframe keeps the face visible


def overlay_name(source: str) -> str:
    """File name of a source's overlay video."""
    return source.replace("/", "__").replace("\\", "__") + ".overlay.mp4"


def draw_fits(
    lr: np.ndarray, analysed: AnalysedFrame[object], model: FaceModel, scale: int
) -> np.ndarray:
    """LR frame (h, w, 3) uint8 -> (S*h, S*w, 3) uint8 with each face's mesh and landmarks."""
    image = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    offset = (scale - 1) / 2.0
    for face in analysed.faces:
        fit = face.fit
        vertices = camera_vertices(
            model.vertices(fit.identity, fit.expression).astype(np.float64), fit.pose
        )
        xy = project(vertices, fit.camera) * scale + offset
        colour = track_colour(face.track_id) if face.reliable else (128, 128, 128)
        image = draw_mesh(
            image,
            xy,
            model.triangles,
            points=face.landmarks68 * scale + offset,
            color=colour,
            point_color=(255, 255, 255),
            visible=front_facing(vertices, model.triangles),
            edge_step=EDGE_STEP,
        )
    return image


class OverlayWriter:
    """Encodes the overlay of one video, frame by frame, in analysis order."""

    def __init__(
        self, folder: Path, source: str, info: VideoInfo, model: FaceModel, scale: int
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / overlay_name(source)
        self.model = model
        self.scale = scale
        self.info = info
        self._writer: VideoWriter | None = None
        self._pts = 0

    def write(self, analysed: AnalysedFrame[object]) -> None:
        payload = analysed.payload
        lr = payload.lr  # type: ignore[attr-defined]
        image = draw_fits(lr, analysed, self.model, self.scale)
        if self._writer is None:
            v = self.info.video
            target = VideoTarget(
                width=image.shape[1],
                height=image.shape[0],
                time_base=v.time_base,
                rate=v.average_rate or v.guessed_rate,
                bit_depth=8,
                pix_fmt="yuv420p",
                rotation=v.rotation,
                colour=v.colour,
            )
            self._writer = VideoWriter(self.path, target, EncodeSettings(preset="veryfast"))
            self._writer.__enter__()
        # Frames are taken every n-th; number them densely so any --every plays smoothly.
        step = self._frame_step()
        self._writer.write(Frame(analysed.index, self._pts, self.info.video.time_base, step, image))
        self._pts += step

    def _frame_step(self) -> int:
        v = self.info.video
        rate = v.average_rate or v.guessed_rate
        if not rate:
            return 1
        return max(1, round(1 / (float(rate) * float(v.time_base))))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.__exit__(None, None, None)
            self._writer = None
