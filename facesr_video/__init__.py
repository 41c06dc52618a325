"""facesr-video: super-resolve the faces in a video, guided by a 3D face model.

The Python API is `facesr_video.enhance(...)`; importing the package loads nothing heavy (torch,
PyAV and dlib are imported on the first call).
"""

from __future__ import annotations

import os as _os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

# The per-face maths (3DMM fits, Kalman updates) is many small matrix solves; OpenBLAS's thread
# pool makes those ~10x slower on a busy CPU. torch keeps its own threads for the big work.
# Set before numpy is first imported; a user's explicit setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# The subpackage facesr_video/enhance/ shares its name with the function below. Importing the
# (light) subpackage first means the import system has already set this attribute to it, so
# later imports of its modules (facesr_video.enhance.run, ...) leave `enhance` the function.
from facesr_video import enhance as _enhance_package  # noqa: E402,F401

if TYPE_CHECKING:
    from facesr_video.enhance.batch import BatchSummary
    from facesr_video.enhance.run import EnhanceSummary

__version__ = "0.1.0"
__all__ = ["enhance", "__version__"]

PathLike = str | _os.PathLike[str]


@overload
def enhance(
    input: PathLike, output: PathLike, scale: int = 4, *, out_dir: None = None, **options: Any
) -> EnhanceSummary: ...
@overload
def enhance(
    input: PathLike | Sequence[PathLike],
    output: None = None,
    scale: int = 4,
    *,
    out_dir: PathLike,
    **options: Any,
) -> BatchSummary: ...
def enhance(
    input: PathLike | Sequence[PathLike],
    output: PathLike | None = None,
    scale: int = 4,
    *,
    out_dir: PathLike | None = None,
    **options: Any,
) -> EnhanceSummary | BatchSummary:
    """Enhance a video or still image into `output`, or many inputs into the folder `out_dir`.

    What `facesr-video enhance` does, callable from Python: every frame upscaled by `scale`
    (2, 4 or 8) with the faces super-resolved; frames, timestamps and audio kept; the output
    written to a temporary file and renamed, so it is never half-written.

    input: a video or image (.jpg, .png, .webp: written in OUT's format), or, with `out_dir`,
        a list of files, folders (their videos and images) and glob patterns.
    output: the output file (single input).
    out_dir: the folder for many inputs; each output keeps its input's name. Outputs already
        finished with the same input and options are skipped (`overwrite=True` redoes them);
        an input that fails is reported in the summary and the others go on.
    options: the command's options by their Python names, e.g. `faces="none"` (plain upscale),
        `faces="largest"`, `strength=0.8`, `codec="libx265"`, `crf=20`, `preset="fast"`,
        `device="cuda"`, `weights=PATH`, `quiet=True` (no progress or summary on stderr),
        `overwrite=True`, `report=PATH`, `compare=PATH` (side-by-side video), `recursive=True`
        (descend into folders), `start=`/`end=` (seconds or "HH:MM:SS.fff": a span of the
        video), `workers=N` and `engine="ray"` (one video cut into segments processed in
        parallel, as `--workers`). They are the fields of `facesr_video.enhance.run.EnhanceOptions`
        and `facesr_video.enhance.face_stage.FaceOptions`.

    Returns an `EnhanceSummary` (frames, faces_enhanced, tracks, stage_seconds, seconds, fps,
    output) for one input; a `BatchSummary` (`items`: per input its status "done", "skipped" or
    "failed", reason, frames, faces and summary; `failed`: whether any failed) for `out_dir`.

    Raises TypeError for an option name it does not know, and `facesr_video.errors.FacesrError`
    (InputError, OutputError, ModelError, DeviceError) for a problem the user can fix, with a
    one-line message saying what to do (`error.one_line()`).
    """
    from facesr_video.enhance import api
    from facesr_video.scale.run import SPREAD_KEYWORDS, enhance_from_keywords

    if any(key in options for key in SPREAD_KEYWORDS):
        one_file = out_dir is None and isinstance(input, str | _os.PathLike)
        return enhance_from_keywords(input if one_file else None, output, scale, options)  # type: ignore[arg-type]
    return api.enhance(input, output, scale, out_dir, options)
