"""Enhance options from keyword arguments (the Python API), and the ones that change an output.

The typed records are `EnhanceOptions` (one run: IN, OUT, encoder, files) and `FaceOptions` (the
face path). The Python API takes their fields as flat keywords, as the command line does; a
misspelt keyword must fail loudly (TypeError naming it) rather than be ignored, because an ignored
`strenght=0.5` would silently give a different video. New fields of either record become
keywords here without any change.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from facesr_video.enhance.face_stage import PASTE_MODES, FaceOptions
from facesr_video.enhance.run import EnhanceOptions
from facesr_video.errors import InputError

FACE_CHOICES = ("all", "largest", "none")
_RUN_FIELDS = {f.name for f in dataclasses.fields(EnhanceOptions)} - {"input", "output", "scale"}
_FACE_FIELDS = {f.name for f in dataclasses.fields(FaceOptions)}
OPTION_NAMES = frozenset(_RUN_FIELDS | _FACE_FIELDS)
"""Keywords the API accepts: EnhanceOptions' and FaceOptions' fields; `faces` is all, largest
or none (none: the plain path, no face model or network needed)."""

# Fields that do not change the pixels of an output: where it goes, how it is reported, and
# how fast it is made. Everything else is part of what a finished output was made with.
_NOT_IN_OUTPUT = {"input", "output", "overwrite", "quiet", "report", "compare"}
_NOT_IN_OUTPUT |= {"debug_overlay", "threads", "batch_size", "device", "half"}


def make_options(
    input: Path | str, output: Path | str, scale: int, options: Mapping[str, Any]
) -> EnhanceOptions:
    """EnhanceOptions for one run from flat keywords; TypeError for unknown names, InputError
    for a value outside its choices (checked here, as the command line checks its flags)."""
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"enhance() got unknown option(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(OPTION_NAMES))})"
        )
    faces = options.get("faces", "all")
    _check_choice("faces", faces, FACE_CHOICES)
    face_kwargs = {k: v for k, v in options.items() if k in _FACE_FIELDS}
    face_options = None if faces == "none" else _face_options(face_kwargs)
    run_kwargs = {k: v for k, v in options.items() if k in _RUN_FIELDS and k != "faces"}
    for name in ("report", "compare"):
        if run_kwargs.get(name) is not None:
            run_kwargs[name] = Path(run_kwargs[name])
    return EnhanceOptions(
        input=Path(input), output=Path(output), scale=scale, faces=face_options, **run_kwargs
    )


def _face_options(kwargs: dict[str, Any]) -> FaceOptions:
    from facesr_video.sr.neighbours import REGISTRATIONS

    _check_choice("paste", kwargs.get("paste", "crop"), PASTE_MODES)
    _check_choice("registration", kwargs.get("registration", "mesh"), REGISTRATIONS)
    frames = kwargs.get("frames")
    if frames is not None and (frames < 1 or frames % 2 == 0):
        raise InputError(f"frames must be odd (1, 3, 5, ...), not {frames}")
    for name in ("weights", "face_model", "debug_overlay"):
        if kwargs.get(name) is not None:
            kwargs[name] = Path(kwargs[name])
    return FaceOptions(**kwargs)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"unknown {name} {value!r}", f"use one of {', '.join(choices)}")


def output_fingerprint(options: EnhanceOptions) -> dict[str, Any]:
    """The options an output was made with, as plain JSON values: a finished output made with
    other options (another scale, codec, strength...) is not the one asked for now."""
    values = {
        f.name: getattr(options, f.name)
        for f in dataclasses.fields(options)
        if f.name not in _NOT_IN_OUTPUT
    }
    face = options.faces
    values["faces"] = None
    if face is not None:
        values["faces"] = {
            f.name: getattr(face, f.name)
            for f in dataclasses.fields(face)
            if f.name not in _NOT_IN_OUTPUT
        }
    return json.loads(json.dumps(values, sort_keys=True, default=str))
