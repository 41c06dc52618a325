"""The forms `enhance` is used in, behind the command line and `facesr_video.enhance()`.

One input (a video or a still image) into one output, or many inputs into a folder. The command
line builds typed options and calls `run_paths`; the Python API builds the same options from
keywords and calls the same functions, so both behave alike by construction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from facesr_video.enhance.batch import BatchSummary, enhance_batch
from facesr_video.enhance.options import make_options
from facesr_video.enhance.run import EnhanceOptions, EnhanceSummary
from facesr_video.enhance.run import enhance as enhance_video
from facesr_video.enhance.span import TimeSpan, parse_time
from facesr_video.enhance.still import enhance_still, is_still
from facesr_video.errors import InputError
from facesr_video.progress import Progress

PathLike = str | os.PathLike[str]


def enhance_file(options: EnhanceOptions, shared: Progress | None = None) -> EnhanceSummary:
    """One input into one output: a still image as an image, anything else as a video."""
    if is_still(Path(options.input)):
        return enhance_still(options)
    return enhance_video(options, shared=shared)


def run_paths(
    paths: Sequence[Path],
    out_dir: Path | None,
    template: EnhanceOptions,
    recursive: bool = False,
) -> EnhanceSummary | BatchSummary:
    """The command line's forms: `IN OUT`; `IN... --out-dir DIR`; `IN... DIR` where DIR is an
    existing folder. `template` holds every option but the paths."""
    paths = [Path(p) for p in paths]
    if out_dir is None and len(paths) >= 2 and paths[-1].is_dir():
        out_dir, paths = paths[-1], paths[:-1]
    if out_dir is not None:
        return enhance_batch(paths, Path(out_dir), template, enhance_file, recursive)
    if len(paths) != 2:
        hint = "give IN OUT, or IN... --out-dir DIR for several inputs"
        raise InputError(f"expected IN OUT, got {len(paths)} path(s) and no --out-dir", hint)
    return enhance_file(replace(template, input=paths[0], output=paths[1]))


def enhance(
    input: PathLike | Sequence[PathLike],
    output: PathLike | None,
    scale: int,
    out_dir: PathLike | None,
    options: Mapping[str, Any],
) -> EnhanceSummary | BatchSummary:
    """`facesr_video.enhance` (documented there): keywords checked and turned into options."""
    options = dict(options)
    recursive = bool(options.pop("recursive", False))
    span_option(options)
    if out_dir is not None and output is not None:
        raise TypeError("enhance() takes output= or out_dir=, not both")
    one_file = isinstance(input, str | os.PathLike)
    if one_file and out_dir is None:
        if output is None:
            raise TypeError("enhance() needs output= (one file) or out_dir= (a folder)")
        return enhance_file(make_options(input, output, scale, options))
    if one_file:
        inputs = [Path(input)]
    elif out_dir is None:
        raise TypeError("enhance() with a list of inputs needs out_dir=")
    else:
        inputs = [Path(p) for p in input]
    template = make_options(Path(), Path(), scale, options)
    return enhance_batch(inputs, Path(out_dir), template, enhance_file, recursive)


def span_option(options: dict[str, Any]) -> None:
    """start= and end= (seconds, or "MM:SS" / "HH:MM:SS.fff" strings) -> options["span"]."""
    if "start" in options or "end" in options:
        start, end = (_seconds(options.pop(name, None)) for name in ("start", "end"))
        options["span"] = TimeSpan.between(start, end)


def _seconds(value: float | str | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    try:
        return parse_time(str(value))
    except ValueError:
        raise InputError(f"not a time: {value!r}", "give seconds or HH:MM:SS[.fff]") from None
