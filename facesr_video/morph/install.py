"""Getting the face model onto a user's machine: download (pooch), verify, convert once, cache.

`install_ict` fetches ICT-FaceKit Light's FaceXModel files at the pinned commit into the user
cache dir, one file at a time (pooch writes to a temporary name and moves it into place only when
complete and matching its sha256, so an interrupted or corrupt download leaves nothing behind and
a rerun fetches only what is missing), checks each shape file's content fingerprint, and converts
the folder into the project's .npz. `install_from` does the same from a local folder, .npz or BFM
.mat. `resolve_face_model_path` decides which model a run uses: --face-model, then the
FACESR_FACE_MODEL environment variable, then the installed default.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import platformdirs
import pooch
import requests

from facesr_video.errors import ModelError
from facesr_video.morph import ict_registry
from facesr_video.morph.bfm import import_bfm_mat
from facesr_video.morph.formats import load_face_model, save_face_model
from facesr_video.morph.ict import (
    FACE_REGION_VERTICES,
    NEUTRAL_FILE,
    displacement_fingerprint,
    import_ict_folder,
    read_obj_vertices,
)

ENV_FACE_MODEL = "FACESR_FACE_MODEL"
ENV_BASE_URL = "FACESR_ICT_BASE_URL"
ENV_CACHE_DIR = "FACESR_CACHE_DIR"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{ict_registry.ICT_REPO}/{ict_registry.ICT_COMMIT}/FaceXModel/"
MODEL_FILE = "ict_face_light.npz"
OFFLINE_HINT = (
    "without network, get ICT-FaceKit's FaceXModel folder (github ICT-VGL/ICT-FaceKit at "
    f"{ict_registry.ICT_COMMIT[:12]}) another way and run "
    "`facesr-video models install --from DIR_OR_FILE` (the folder, or a face model .npz)"
)


def cache_dir() -> Path:
    """Where models live: $FACESR_CACHE_DIR, else platformdirs' user cache dir for facesr-video."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir("facesr-video"))


def default_model_path() -> Path:
    return cache_dir() / "models" / MODEL_FILE


def download_dir() -> Path:
    return cache_dir() / "downloads" / f"ict-facekit-{ict_registry.ICT_COMMIT[:12]}"


def base_url() -> str:
    url = os.environ.get(ENV_BASE_URL, DEFAULT_BASE_URL)
    return url if url.endswith("/") else url + "/"


def resolve_face_model_path(explicit: Path | None = None) -> Path:
    """The face model a run uses: explicit path, then $FACESR_FACE_MODEL, then the installed one."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise ModelError(f"face model not found: {explicit}", "check the --face-model path")
        return Path(explicit)
    env = os.environ.get(ENV_FACE_MODEL)
    if env:
        if not Path(env).is_file():
            raise ModelError(
                f"face model not found: {env} (from ${ENV_FACE_MODEL})", "fix or unset it"
            )
        return Path(env)
    path = default_model_path()
    if path.is_file():
        return path
    raise ModelError(
        f"no face model installed (looked for {path})",
        "run `facesr-video models install` (downloads ICT-FaceKit Light), or "
        "`facesr-video models install --from DIR_OR_FILE` offline; or pass --face-model PATH",
    )


def _fetch(
    name: str, url: str, sha256: str | None, folder: Path, retries: int, backoff: float
) -> Path:
    known = f"sha256:{sha256}" if sha256 else None
    for attempt in range(retries + 1):
        try:
            return Path(
                pooch.retrieve(
                    url,
                    known_hash=known,
                    fname=name,
                    path=folder,
                    downloader=pooch.HTTPDownloader(progressbar=False, timeout=60),
                )
            )
        except ValueError as error:  # pooch: hash mismatch (it has removed the download)
            raise ModelError(
                f"checksum mismatch for {name} from {url}; nothing was kept",
                "the server sent a different file; retry later or " + OFFLINE_HINT,
            ) from error
        except requests.exceptions.HTTPError as error:
            raise ModelError(f"download of {url} failed ({error})", OFFLINE_HINT) from error
        except (requests.exceptions.RequestException, OSError) as error:
            if attempt == retries:
                raise ModelError(
                    f"cannot download {url} after {retries + 1} attempts ({type(error).__name__})",
                    OFFLINE_HINT,
                ) from error
            time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")


def _check_fingerprint(path: Path, neutral: Path, expected: str) -> None:
    base = read_obj_vertices(neutral)[:FACE_REGION_VERTICES]
    shape = read_obj_vertices(path)
    ok = shape.shape[0] >= FACE_REGION_VERTICES and (
        displacement_fingerprint(shape[:FACE_REGION_VERTICES] - base) == expected
    )
    if not ok:
        path.unlink(missing_ok=True)
        raise ModelError(
            f"{path.name} does not match ICT-FaceKit {ict_registry.ICT_COMMIT[:12]}; removed",
            "retry; if it persists, " + OFFLINE_HINT,
        )


def install_ict(
    files: Mapping[str, str | None] | None = None,
    fingerprints: Mapping[str, str] | None = None,
    url: str | None = None,
    destination: Path | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    on_file: Callable[[str], None] | None = None,
) -> Path:
    """Download, verify and convert ICT-FaceKit Light; returns the installed .npz path.

    files: name -> sha256 or None (default: the pinned registry); fingerprints: name ->
    displacement fingerprint; url: base URL (default $FACESR_ICT_BASE_URL or GitHub raw).
    on_file is called with each file name once it is present and verified (progress).
    """
    if files is None:
        files = {name: ict_registry.SHA256.get(name) for name in ict_registry.FILES}
    if fingerprints is None:
        fingerprints = ict_registry.DISPLACEMENT_FINGERPRINTS
    pooch.get_logger().setLevel("WARNING")
    base = url or base_url()
    folder = download_dir()
    folder.mkdir(parents=True, exist_ok=True)
    order = [NEUTRAL_FILE] + [n for n in files if n != NEUTRAL_FILE]
    for name in order:
        already = (folder / name).is_file()
        path = _fetch(name, base + name, files[name], folder, retries, backoff)
        expected = fingerprints.get(name)
        if expected is not None and not already:
            _check_fingerprint(path, folder / NEUTRAL_FILE, expected)
        if on_file:
            on_file(name)
    try:  # files kept from an earlier run were not re-checked above: check every shape now
        model = import_ict_folder(folder, fingerprints=fingerprints)
    except ModelError as error:
        raise ModelError(error.message, f"delete {folder} and run the install again") from error
    model = model.__class__(
        **{**model.__dict__, "source": f"ICT-FaceKit {ict_registry.ICT_COMMIT} via {base}; MIT"}
    )
    return save_face_model(model, destination or default_model_path())


def install_from(source: Path, destination: Path | None = None, verify: bool = True) -> Path:
    """Install from a local ICT-FaceKit folder, a face model .npz or a BFM_model_front.mat.

    verify: an ICT folder's shape files must match the pinned commit (off for a modified model).
    """
    source = Path(source)
    target = destination or default_model_path()
    if source.is_dir():
        prints = ict_registry.DISPLACEMENT_FINGERPRINTS if verify else None
        model = import_ict_folder(source, fingerprints=prints)
        return save_face_model(model, target)
    if not source.is_file():
        raise ModelError(f"not found: {source}", "give an ICT-FaceKit folder, a .npz or a .mat")
    if source.suffix.lower() == ".mat":
        return save_face_model(import_bfm_mat(source), target)
    load_face_model(source)  # validate before installing
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
