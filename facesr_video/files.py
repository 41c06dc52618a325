"""Files a command writes: all checked up front, each written whole, each with the user's umask.

Every file the tool will write (OUT, --report, --debug-overlay...) goes through
`check_output_files` before any work starts, so a mistyped option can neither overwrite an input
(hard links included) nor fail after an hour of processing. Files are written to a temporary name
beside the target and renamed over it; temporary files are created 0600, so the final file gets
the mode a plain `open()` would have given it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from facesr_video.errors import OutputError


@dataclass(frozen=True)
class NamedPath:
    """A path with the name the user knows it by in messages: 'output', 'input', '--report'."""

    name: str
    path: Path


def check_output_files(
    outputs: Sequence[NamedPath], inputs: Sequence[NamedPath], overwrite: bool
) -> None:
    """OutputError for the first output that cannot or must not be written; nothing is created.

    Refused: a missing, non-folder or read-only folder; an output that is one of the inputs or
    another output (same path or same file); a folder or a device; an existing file without
    `overwrite`.
    """
    for index, output in enumerate(outputs):
        _check_folder(output)
        _check_distinct(output, inputs, "choose another name; inputs are never touched")
        _check_distinct(output, outputs[:index], "give each output its own name")
        _check_target(output, overwrite)


def _check_folder(output: NamedPath) -> None:
    folder = output.path.parent
    if not folder.exists():
        raise OutputError(f"{output.name} folder does not exist: {folder}", "create it first")
    if not folder.is_dir():
        raise OutputError(f"{output.name} folder is not a folder: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{output.name} folder is not writable: {folder}", "check its permissions"
        )


def _check_distinct(output: NamedPath, others: Sequence[NamedPath], hint: str) -> None:
    for other in others:
        if same_file(other.path, output.path):
            raise OutputError(f"{output.name} is the {other.name} file: {output.path}", hint)


def _check_target(output: NamedPath, overwrite: bool) -> None:
    path = output.path
    if path.is_dir():
        raise OutputError(f"{output.name} is a folder: {path}", "give a file name")
    if not path.exists():
        return
    if not stat.S_ISREG(path.stat().st_mode):  # replacing /dev/null by a file helps nobody
        raise OutputError(f"{output.name} is not a regular file: {path}", "give a file name")
    if not overwrite:
        raise OutputError(f"{output.name} exists: {path}", "pass --overwrite to replace it")


def check_output_folder(output: NamedPath, inputs: Sequence[NamedPath]) -> None:
    """OutputError when an output folder is an input or lies inside an input folder: what a
    command writes there (a store's shards, a report's pictures, a run's PNGs) would be read as
    input by the next run over that folder."""
    out = Path(output.path).resolve()
    for source in inputs:
        place = Path(source.path).resolve()
        if out == place:
            raise OutputError(
                f"{output.name} is the {source.name}: {output.path}",
                "choose a folder outside the inputs",
            )
        if place.is_dir() and out.is_relative_to(place):
            raise OutputError(
                f"{output.name} {output.path} is inside the {source.name} folder {source.path}: "
                "its files would be read as input next time",
                "choose a folder outside the inputs",
            )


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: equal after resolving, or one inode (hard links)."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def follow_umask(path: Path) -> None:
    """Give a file made by mkstemp (0600) the mode open() would have: 0666 less the umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_whole(path: Path, write: Callable[[Path], None], sync: bool = False) -> None:
    """Write `path` through a temporary file beside it (`write` fills the temporary): a reader
    never sees half a file, and a failure (full disk, Ctrl-C, a crash in `write`) leaves the
    old file as it was and no temporary behind. `sync`: fsync before the rename."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    partial = Path(temporary)
    try:
        write(partial)
        if sync:
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
        follow_umask(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text_whole(path: Path, text: str) -> None:
    """Write text whole (`write_whole`); OSError becomes OutputError."""
    try:
        write_whole(path, lambda partial: partial.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise OutputError(f"cannot write {path} ({error.strerror})") from error
