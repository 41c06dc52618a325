"""Model installation against a local HTTP server: success, resume, corrupt file, dropped link."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from facesr_video.errors import ModelError
from facesr_video.morph.formats import load_face_model
from facesr_video.morph.install import (
    ENV_CACHE_DIR,
    ENV_FACE_MODEL,
    default_model_path,
    download_dir,
    install_from,
    install_ict,
    resolve_face_model_path,
)
from tests.morph.synthetic import registry_for, write_ict_folder


class Handler(SimpleHTTPRequestHandler):
    """Serves a folder; names in `drop` get their headers and half the body, then a hang-up."""

    requests: list[str]
    drop: set[str]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        name = self.path.rsplit("/", 1)[-1]
        self.requests.append(name)
        if name in self.drop:
            body = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[tuple[str, Path, type[Handler]]]:
    root = tmp_path / "remote"
    folder = root / "FaceXModel"
    write_ict_folder(folder)
    handler = type("H", (Handler,), {"requests": [], "drop": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_FACE_MODEL, raising=False)
    yield f"http://127.0.0.1:{server.server_address[1]}/FaceXModel/", folder, handler
    server.shutdown()
    server.server_close()


def _no_partials() -> None:
    leftovers = [p.name for p in download_dir().iterdir() if not p.name.endswith((".obj", ".json"))]
    assert leftovers == []


def test_install_downloads_verifies_converts_and_resumes(served):
    url, folder, handler = served
    files, prints = registry_for(folder)
    seen: list[str] = []
    path = install_ict(files, prints, url=url, backoff=0, on_file=seen.append)
    assert path == default_model_path()
    model = load_face_model(path)
    assert model.num_identity == 2 and model.num_expression == 2
    assert sorted(seen) == sorted(files)
    assert len(handler.requests) == len(files)
    # a second run finds every file verified in the cache and downloads nothing
    install_ict(files, prints, url=url, backoff=0)
    assert len(handler.requests) == len(files)
    # a cached shape file damaged since is caught by its content fingerprint
    cached = download_dir() / "jawOpen.obj"
    cached.write_text(cached.read_text().replace("v ", "v 1", 1))
    with pytest.raises(ModelError, match="jawOpen.obj does not match") as info:
        install_ict({**files, "jawOpen.obj": None}, prints, url=url, backoff=0)
    assert "delete" in info.value.one_line()


def test_corrupt_file_fails_the_checksum_and_leaves_nothing(served):
    url, folder, _ = served
    files, prints = registry_for(folder)
    files["jawOpen.obj"] = "0" * 64
    with pytest.raises(ModelError, match="checksum mismatch for jawOpen.obj"):
        install_ict(files, prints, url=url, backoff=0)
    assert not (download_dir() / "jawOpen.obj").exists()
    assert not default_model_path().exists()
    _no_partials()


def test_content_fingerprint_catches_a_file_without_checksum(served):
    url, folder, _ = served
    files, prints = registry_for(folder)
    files["identity001.obj"] = None
    prints["identity001.obj"] = "f" * 64
    with pytest.raises(ModelError, match="identity001.obj does not match"):
        install_ict(files, prints, url=url, backoff=0)
    assert not (download_dir() / "identity001.obj").exists()


def test_dropped_connection_retries_then_resumes_cleanly(served):
    url, folder, handler = served
    files, prints = registry_for(folder)
    handler.drop = {"identity001.obj"}
    with pytest.raises(ModelError, match="after 3 attempts") as info:
        install_ict(files, prints, url=url, retries=2, backoff=0)
    assert "--from" in info.value.one_line()
    assert handler.requests.count("identity001.obj") == 3
    assert not (download_dir() / "identity001.obj").exists()
    _no_partials()
    done_before = set(handler.requests) - {"identity001.obj"}
    handler.drop = set()
    handler.requests.clear()
    install_ict(files, prints, url=url, backoff=0)
    assert "identity001.obj" in handler.requests
    assert not done_before & set(handler.requests)  # what was complete is not fetched again


def test_no_server_explains_the_offline_install(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    with pytest.raises(ModelError) as info:
        install_ict({"generic_neutral_mesh.obj": None}, {}, url="http://127.0.0.1:9/", retries=0)
    assert "models install --from DIR_OR_FILE" in info.value.one_line()


def test_install_from_folder_and_npz(tmp_path, monkeypatch, ict_model_path):
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    write_ict_folder(tmp_path / "ict")
    with pytest.raises(ModelError, match="does not match ICT-FaceKit"):
        install_from(tmp_path / "ict")  # not the pinned commit's shapes
    path = install_from(tmp_path / "ict", verify=False)
    assert load_face_model(path).num_identity == 2
    install_from(ict_model_path)
    assert load_face_model(default_model_path()).num_identity == 100
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(ModelError):
        install_from(bad)


def test_resolve_face_model_path(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(ENV_FACE_MODEL, raising=False)
    with pytest.raises(ModelError) as info:
        resolve_face_model_path(None)
    text = info.value.one_line()
    assert "models install`" in text and "--from DIR_OR_FILE" in text
    explicit = tmp_path / "m.npz"
    explicit.write_bytes(b"x")
    assert resolve_face_model_path(explicit) == explicit
    with pytest.raises(ModelError, match="not found"):
        resolve_face_model_path(tmp_path / "absent.npz")
    monkeypatch.setenv(ENV_FACE_MODEL, str(explicit))
    assert resolve_face_model_path(None) == explicit
    monkeypatch.setenv(ENV_FACE_MODEL, str(tmp_path / "gone.npz"))
    with pytest.raises(ModelError, match="FACESR_FACE_MODEL"):
        resolve_face_model_path(None)
