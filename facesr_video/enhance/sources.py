"""What `enhance IN... --out-dir DIR` works on: files, folders and globs turned into inputs, each
with the name its output gets in DIR.

Globs are expanded here as well as by the shell, because some shells (Windows', or a quoted
pattern) pass them on untouched. An argument that names nothing becomes an input that fails with
its reason, so the others still run. Two inputs that would write one output name are refused
before any work: finding out after an hour that one result replaced another helps nobody.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from facesr_video.enhance.still import FORMATS as STILL_FORMATS
from facesr_video.errors import InputError
from facesr_video.video.output import CONTAINERS

VIDEO_SUFFIXES = frozenset(CONTAINERS) | {".avi", ".mpg", ".mpeg", ".flv", ".wmv", ".ts"}
VIDEO_SUFFIXES |= {".mts", ".m2ts", ".3gp", ".ogv", ".vob", ".y4m"}
MEDIA_SUFFIXES = VIDEO_SUFFIXES | frozenset(STILL_FORMATS)
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Source:
    """One input of a batch: its path, its output's file name, and why it has no file ('')."""

    input: Path
    name: str
    missing: str = ""


def output_name(path: Path) -> str:
    """The output's file name: the input's, or NAME.mp4 where no output container holds the
    input's (an .avi or .mpg is written as .mp4)."""
    suffix = path.suffix.lower()
    if suffix in CONTAINERS or suffix in STILL_FORMATS:
        return path.name
    return f"{path.stem}.mp4"


def expand(arguments: Sequence[Path], recursive: bool = False) -> list[Source]:
    """Each argument's inputs, in argument order, each file once: a file as given; a folder's
    videos and images (sorted, hidden names skipped; descending with `recursive`); a glob's
    matches. An argument that names nothing gives one Source with its reason."""
    sources: list[Source] = []
    seen: set[Path] = set()
    for argument in arguments:
        found, reason = _files(Path(argument), recursive)
        if not found:
            sources.append(Source(Path(argument), output_name(Path(argument)), reason))
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                sources.append(Source(path, output_name(path)))
    return sources


def _files(argument: Path, recursive: bool) -> tuple[list[Path], str]:
    """(files, reason when there are none) for one argument."""
    if argument.is_file():
        return [argument], ""
    if argument.is_dir():
        return _folder(argument, recursive), "no videos or images in this folder"
    if _GLOB_CHARS & set(str(argument)):
        matches = [Path(m) for m in sorted(glob.glob(str(argument), recursive=True))]
        files = [m for m in matches if m.is_file() and m.suffix.lower() in MEDIA_SUFFIXES]
        for folder in (m for m in matches if m.is_dir()):
            files += _folder(folder, recursive)
        return files, "no videos or images match"
    return [], "not found"


def _folder(folder: Path, recursive: bool) -> list[Path]:
    entries: Iterable[Path] = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in entries
        if path.is_file()
        and path.suffix.lower() in MEDIA_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def check_names(sources: Sequence[Source], out_dir: Path) -> None:
    """InputError when two inputs would be written under one name in `out_dir`."""
    by_name: dict[str, Path] = {}
    for source in sources:
        if source.missing:
            continue
        other = by_name.setdefault(source.name, source.input)
        if other != source.input:
            raise InputError(
                f"{other} and {source.input} would both be written as {out_dir / source.name}",
                "rename one, or enhance them into separate --out-dir folders",
            )
