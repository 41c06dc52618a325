"""The face regions evaluate scores: found once on the ORIGINAL high-resolution frame.

Definition (the same for every method, so methods are compared on the same pixels):

- dlib's HOG detector (`faces.detect.FaceDetector`) runs on the original frame (after the crop to
  a multiple of S), for faces at least ``min_face * S`` pixels wide: the faces `enhance` is asked
  to super-resolve at ``--min-face`` low-resolution pixels.
- Each detection box is grown by `REGION_MARGIN` of its width and height on every side, clipped
  to the frame, and rounded to whole pixels: that rectangle is the face region (a binary mask).
- On the original, 68 dlib landmarks are predicted in the detection box and a dlib face
  descriptor is computed from them: the references for landmark error and identity.
- Faces are linked into tracks between consecutive frames by box overlap (IoU), for jitter.

The references are found once per clip, in its first pass, and every method's pass needs them:
`ReferenceSpool` keeps them in a temporary file, not in memory, so a long clip costs disk (about
1 kB per face and frame), and memory holds one frame's faces.

Frames are (H, W, 3) uint8 RGB here (an edge to dlib, like video/).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facesr_video.eval.identity import IdentityEncoder
from facesr_video.faces.detect import Box, FaceDetector
from facesr_video.faces.landmarks import predict_landmarks

REGION_MARGIN = 0.1
"""Growth of dlib's (tight, brow-to-chin) box on every side, as a fraction of its size."""

MIN_REGION = 16
"""Regions narrower or shorter than this (pixels) are not scored (SSIM needs an 11 px window)."""

TRACK_IOU = 0.3
"""Boxes in consecutive frames overlapping at least this much are one face (one track)."""

Region = tuple[int, int, int, int]  # (left, top, right, bottom) pixel indices, right/bottom excl.


@dataclass(frozen=True)
class ReferenceFace:
    """One face on the original frame: where it is scored and what it is compared with."""

    box: Box  # detector box (x0, y0, x1, y1), pixel edges
    region: Region  # the scored face region
    landmarks: np.ndarray  # (68, 2) float32 (x, y) on the original
    descriptor: np.ndarray  # (128,) float32 dlib descriptor of the original
    track: int  # id linking the face across consecutive frames


@dataclass(frozen=True)
class ReferenceFrame:
    """The reference faces of one original frame (possibly none)."""

    index: int
    faces: tuple[ReferenceFace, ...]


def face_region(box: Box, frame_size: tuple[int, int], margin: float = REGION_MARGIN) -> Region:
    """The scored rectangle for a detector box: grown by ``margin`` per side, inside the frame.

    Args:
        box: (x0, y0, x1, y1) pixel edges (pixel i spans i - 0.5 .. i + 0.5).
        frame_size: (height, width).

    Returns:
        (left, top, right, bottom) pixel indices of the pixels whose centres lie inside the grown
        box, right/bottom exclusive, clipped to the frame.
    """
    x0, y0, x1, y1 = box
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    height, width = frame_size
    left = int(np.clip(np.ceil(x0 - dx), 0, width))
    top = int(np.clip(np.ceil(y0 - dy), 0, height))
    right = int(np.clip(np.floor(x1 + dx) + 1, left, width))
    bottom = int(np.clip(np.floor(y1 + dy) + 1, top, height))
    return (left, top, right, bottom)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class ReferenceAnalyser:
    """Finds the reference faces of consecutive original frames (one clip per instance)."""

    def __init__(self, encoder: IdentityEncoder, min_face: float, detector: str = "hog") -> None:
        self.encoder = encoder
        self.detector = FaceDetector(detector, min_face=min_face)
        self._previous: tuple[ReferenceFace, ...] = ()
        self._next_track = 0

    def __call__(self, index: int, rgb: np.ndarray) -> ReferenceFrame:
        """Reference faces of one original frame.

        Args:
            index: frame number in the clip (frames must come in order, one clip per analyser).
            rgb: (H, W, 3) uint8 original frame, already cropped to a multiple of the scale.
        """
        height, width = rgb.shape[:2]
        faces = []
        taken: set[int] = set()
        for detection in self.detector(rgb):
            region = face_region(detection.box, (height, width))
            if min(region[2] - region[0], region[3] - region[1]) < MIN_REGION:
                continue
            landmarks = predict_landmarks(rgb, detection.box)
            descriptor = self.encoder.describe(rgb, landmarks=landmarks)
            track = self._match(detection.box, taken)
            taken.add(track)
            faces.append(ReferenceFace(detection.box, region, landmarks, descriptor, track))
        self._previous = tuple(faces)
        return ReferenceFrame(index, tuple(faces))

    def _match(self, box: Box, taken: set[int]) -> int:
        """The track of the best-overlapping face of the previous frame, or a new track."""
        best, best_iou = None, TRACK_IOU
        for face in self._previous:
            iou = box_iou(box, face.box)
            if face.track not in taken and iou >= best_iou:
                best, best_iou = face.track, iou
        if best is None:
            best = self._next_track
            self._next_track += 1
        return best


class ReferenceSpool:
    """One clip's reference frames: found once (first pass), read back in order by later passes.

    Each pass calls `rewind()` and then `get(index, find)` for its output frames in increasing
    index order: a frame not seen yet is found with `find()` and appended to an anonymous
    temporary file; a frame already found is read back from it. Frames a pass skips are skipped.
    """

    def __init__(self) -> None:
        # Open for the clip's whole run; anonymous, so gone when closed or when the process ends.
        self._file = tempfile.TemporaryFile()  # noqa: SIM115
        self._end = 0  # bytes written
        self._read_at = 0
        self._last: int | None = None  # highest index written
        self.faces = 0  # faces over all frames found

    def rewind(self) -> None:
        """Start a pass: the next `get` reads from the first frame again."""
        self._read_at = 0

    def get(self, index: int, find: Callable[[], ReferenceFrame]) -> ReferenceFrame:
        """The reference frame `index`: found now (first time) or read back (later passes)."""
        if self._last is None or index > self._last:
            return self._append(find())
        while self._read_at < self._end:
            self._file.seek(self._read_at)
            frame = pickle.load(self._file)
            self._read_at = self._file.tell()
            if frame.index == index:
                return frame
            if frame.index > index:
                break
        raise ValueError(f"reference frame {index} asked for out of order")

    def _append(self, frame: ReferenceFrame) -> ReferenceFrame:
        self._file.seek(self._end)
        pickle.dump(frame, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._end = self._read_at = self._file.tell()
        self._last = frame.index
        self.faces += len(frame.faces)
        return frame

    def close(self) -> None:
        self._file.close()
