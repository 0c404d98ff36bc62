"""Finding, downloading and verifying ICT-FaceKit, against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.errors import ModelError
from models.face_model import cache as cache_module
from models.face_model import load_face_model
from models.face_model.source import PINNED_COMMIT, verified_model_folder

FILES = {"generic_neutral_mesh.obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "vertex_indices.json": b"{}"}
CHECKSUMS = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"ICT-FaceKit-{PINNED_COMMIT}/FaceXModel/{name}", data)
        zf.writestr(f"ICT-FaceKit-{PINNED_COMMIT}/README.md", b"readme")
    return buffer.getvalue()


class Server:
    """Serves ``body`` at every path; ``claimed_length`` lets a response lie about its size."""

    def __init__(self) -> None:
        self.body = b""
        self.claimed_length: int | None = None
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(server.claimed_length or len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/archive.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def fetch(url: str, cache_dir: Path, environ: dict | None = None) -> dict[str, bytes]:
    with verified_model_folder(
        CHECKSUMS, cache_dir=cache_dir, environ=environ or {}, shared_archive=cache_dir / "absent.tar.xz",
        url=url,
    ) as folder:
        return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_download_is_verified_and_kept_in_the_cache(server: Server, tmp_path: Path) -> None:
    server.body = zip_bytes(FILES)
    assert fetch(server.url, tmp_path) == FILES
    assert fetch(server.url, tmp_path) == FILES
    assert server.requests == 1, "the archive must be downloaded once"
    assert [p.name for p in tmp_path.iterdir()] == [f"ICT-FaceKit-{PINNED_COMMIT}.zip"]


def test_checksum_mismatch_names_the_file_and_discards_the_download(server: Server, tmp_path: Path) -> None:
    server.body = zip_bytes({**FILES, "vertex_indices.json": b'{"tampered": 1}'})
    with pytest.raises(ModelError, match=r"vertex_indices\.json .*SHA-256 mismatch"):
        fetch(server.url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_an_error_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    body = zip_bytes(FILES)
    server.body = body[: len(body) // 2]
    server.claimed_length = len(body)
    with pytest.raises(ModelError, match="truncated|failed"):
        fetch(server.url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_truncated_archive_is_an_error_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    body = zip_bytes(FILES)
    server.body = body[: len(body) // 2]  # a consistent Content-Length, but half a zip
    with pytest.raises(ModelError, match="corrupt or truncated"):
        fetch(server.url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_network_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not download ICT-FaceKit") as error:
        fetch("http://127.0.0.1:9/archive.zip", tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "$ICT_FACEKIT_DIR" in message and str(tmp_path / "absent.tar.xz") in message, message


def test_a_build_says_so_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "checkout" / "FaceXModel"
    folder.mkdir(parents=True)
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    with caplog.at_level(logging.WARNING):
        fetch("http://127.0.0.1:9/unused", tmp_path / "c1", {"ICT_FACEKIT_DIR": str(folder.parent)})
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "building the face model" in lines[0] and str(folder.parent) in lines[0]


def test_environment_folder_and_archive(tmp_path: Path) -> None:
    folder = tmp_path / "checkout" / "FaceXModel"
    folder.mkdir(parents=True)
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    assert fetch("http://127.0.0.1:9/unused", tmp_path / "c1", {"ICT_FACEKIT_DIR": str(folder.parent)}) == FILES

    archive = tmp_path / "model.tar.xz"
    with tarfile.open(archive, "w:xz") as tf:
        tf.add(folder, arcname="FaceXModel")
    assert fetch("http://127.0.0.1:9/unused", tmp_path / "c2", {"ICT_FACEKIT_DIR": str(archive)}) == FILES

    with pytest.raises(ModelError, match="neither a folder"):
        fetch("http://127.0.0.1:9/unused", tmp_path / "c3", {"ICT_FACEKIT_DIR": str(tmp_path / "nowhere")})


def test_failed_build_leaves_no_half_written_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(zip_bytes(FILES))  # not the pinned files: every checksum fails
    monkeypatch.setenv(cache_module.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("ICT_FACEKIT_DIR", str(bad))
    load_face_model.cache_clear()
    try:
        with pytest.raises(ModelError, match="missing|mismatch"):
            load_face_model()
    finally:
        load_face_model.cache_clear()
    leftovers = list((tmp_path / "cache").rglob("*")) if (tmp_path / "cache").exists() else []
    assert [p for p in leftovers if p.is_file()] == []
