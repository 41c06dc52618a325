"""What `extract-priors` reads: video files and folders of images (and videos), as named sources.

Every input becomes a list of `InputItem`s, each with a source id that is stable across machines
and working directories, because the store's keys (and a resumed run's skipping) depend on it:
a file given directly is its file name; a file found in a folder is the folder's name followed by
its path inside the folder (``congress/A000014.jpg``). Two inputs giving one id is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facesr_video.errors import InputError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mkv", ".mov", ".avi", ".webm", ".flv", ".mpg", ".mpeg", ".m4v", ".wmv", ".ts"}
)

Kind = Literal["image", "video"]


@dataclass(frozen=True)
class InputItem:
    """One image or video to analyse; `source` is its id in the store."""

    kind: Kind
    path: Path
    source: str


@dataclass(frozen=True)
class InputListing:
    """Items to process, and inputs that gave nothing (path, reason)."""

    items: tuple[InputItem, ...]
    empty: tuple[tuple[str, str], ...]


def _kind(path: Path) -> Kind | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _folder_items(folder: Path) -> list[InputItem]:
    root = folder.resolve().name or "input"
    items = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        kind = _kind(path)
        if kind is not None:
            items.append(InputItem(kind, path, f"{root}/{relative.as_posix()}"))
    return items


def list_inputs(paths: Sequence[Path]) -> InputListing:
    """Enumerate INPUT arguments; InputError for a missing path or a repeated source id.

    A file given directly is taken as an image when its suffix says so, else as a video (probed
    later). Folders are searched recursively for images and videos by suffix; hidden files and
    other files (notes, licences) are ignored.
    """
    if not paths:
        raise InputError("no input given", "pass video files or folders of images")
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputError(f"input not found: {', '.join(missing)}", "check the paths")
    items: list[InputItem] = []
    empty: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _folder_items(path)
            if not found:
                empty.append((str(path), "folder holds no images or videos"))
            items.extend(found)
        else:
            items.append(InputItem(_kind(path) or "video", path, path.name))
    seen: dict[str, Path] = {}
    unique: list[InputItem] = []
    for item in items:
        other = seen.get(item.source)
        if other is not None:
            if other.resolve() == item.path.resolve():
                continue  # the same file named twice: once is enough
            raise InputError(
                f"two inputs have the same source id {item.source!r}: {other} and {item.path}",
                "rename one, or run them into separate stores",
            )
        seen[item.source] = item.path
        unique.append(item)
    return InputListing(tuple(unique), tuple(empty))


def read_image(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, EXIF orientation applied; InputError if unreadable."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise InputError(f"unreadable image: {path} ({type(error).__name__})") from error
