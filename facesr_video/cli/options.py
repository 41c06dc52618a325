"""Option helpers shared by the commands: numbers are refused at the command line, by flag name.

Integer options use typer's own `min`/`max` (its message names the flag and the bound). Float
options go through `float_option`, because a range check alone lets `inf` through (and words
`nan` as "should be greater than 0"): it refuses both as "not a finite number".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import typer


def float_option(
    default: float,
    *names: str,
    min: float | None = None,  # noqa: A002 - typer's own keyword names
    max: float | None = None,  # noqa: A002
    help: str,  # noqa: A002
) -> Any:
    """A float option that is finite and within [min, max]; help shows the range and default."""
    return typer.Option(default, *names, min=min, max=max, parser=finite_in(min, max), help=help)


def finite_in(low: float | None, high: float | None) -> Callable[[str], float]:
    """A parser for a finite float within [low, high]; typer adds the flag to its message."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise typer.BadParameter(f"must be a finite number, not {text}")
        if low is not None and value < low:
            raise typer.BadParameter(f"must be at least {low:g}, not {text}")
        if high is not None and value > high:
            raise typer.BadParameter(f"must be at most {high:g}, not {text}")
        return value

    return parse


def check_frames(frames: int | None) -> int | None:
    """--frames: an odd window (the current frame and as many neighbours before as after)."""
    if frames is not None and frames % 2 == 0:
        raise typer.BadParameter(
            f"must be odd (1, 3, 5, ...): frames t-k..t+k, not {frames}", param_hint="--frames"
        )
    return frames


def check_registration(registration: str) -> str:
    """--registration: mesh or box."""
    from facesr_video.sr.neighbours import REGISTRATIONS

    if registration not in REGISTRATIONS:
        raise typer.BadParameter(
            f"use one of {', '.join(REGISTRATIONS)}", param_hint="--registration"
        )
    return registration
