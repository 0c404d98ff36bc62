"""Finding, downloading and verifying ICT-FaceKit Light's ``FaceXModel/`` folder.

Lookup order (docs/CONTRACT.md): ``$ICT_FACEKIT_DIR`` (a folder holding ``FaceXModel/`` or
an archive of it), the packed copy in ``../shared/ict-facekit/`` beside the checkout, then
the pinned GitHub archive, downloaded once into the user cache. Every file is checked
against the SHA-256 sums recorded in ``ict_facekit_sha256.json`` before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from tqdm import tqdm

from models.errors import ModelError

log = logging.getLogger(__name__)

PINNED_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
DOWNLOAD_URL = f"https://github.com/ICT-VGL/ICT-FaceKit/archive/{PINNED_COMMIT}.zip"
FOLDER_NAME = "FaceXModel"
ENV_DIR = "ICT_FACEKIT_DIR"
SHARED_ARCHIVE = (
    Path(__file__).resolve().parents[3] / "shared" / "ict-facekit" / "ict-facekit-light-da5f95a6.tar.xz"
)
CHECKSUMS_FILE = Path(__file__).with_name("ict_facekit_sha256.json")
ARCHIVE_SUFFIXES = (".zip", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar")


def pinned_checksums() -> dict[str, str]:
    """The recorded SHA-256 of every file of the pinned ``FaceXModel/`` folder, by file name."""
    return json.loads(CHECKSUMS_FILE.read_text())


def checksums_digest(checksums: Mapping[str, str]) -> str:
    """One SHA-256 over a checksum table: changes whenever any recorded file changes."""
    text = "\n".join(f"{name} {digest}" for name, digest in sorted(checksums.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_folder(folder: Path, checksums: Mapping[str, str]) -> None:
    """Raise :class:`ModelError` naming the first missing or altered file of ``folder``."""
    for name, expected in sorted(checksums.items()):
        path = folder / name
        if not path.is_file():
            raise ModelError(f"ICT-FaceKit file {name} is missing from {folder}")
        if sha256_of(path) != expected:
            raise ModelError(
                f"ICT-FaceKit file {name} in {folder} does not match the pinned commit "
                f"{PINNED_COMMIT[:8]} (SHA-256 mismatch)"
            )


def find_model_folder(root: Path, max_depth: int = 3) -> Path | None:
    """``root`` itself or the shallowest ``FaceXModel`` folder below it, or None."""
    if root.name == FOLDER_NAME and root.is_dir():
        return root
    level = [root]
    for _ in range(max_depth):
        candidates = [c / FOLDER_NAME for c in level if (c / FOLDER_NAME).is_dir()]
        if candidates:
            return candidates[0]
        level = [d for c in level for d in sorted(c.iterdir()) if d.is_dir()]
    return None


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def announce_build(origin: Path) -> None:
    """One line on stderr before the first-run build (about 15 s), which otherwise looks idle.

    A warning so that it shows at the default log level; it appears once per user cache.
    """
    log.warning("building the face model once into the user cache from %s (first run only, "
                "about 15 s)", origin)


def extract_archive(archive: Path, destination: Path) -> Path:
    """Unpack ``archive`` (zip or tar) into ``destination``; return its ``FaceXModel`` folder.

    Only the ``FaceXModel`` folder's members are extracted. A corrupt or truncated archive,
    or one without the folder, raises :class:`ModelError`.
    """
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                members = [m for m in zf.namelist() if f"{FOLDER_NAME}/" in m]
                for member in _unpacking(members):
                    zf.extract(member, destination)
        else:
            with tarfile.open(archive) as tf:
                members = [m for m in tf.getmembers() if f"{FOLDER_NAME}/" in m.name + "/"]
                for member in _unpacking(members):
                    tf.extract(member, destination, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelError(f"ICT-FaceKit archive {archive} is corrupt or truncated ({reason})") from None
    folder = find_model_folder(destination, max_depth=4)
    if folder is None:
        raise ModelError(f"ICT-FaceKit archive {archive} holds no {FOLDER_NAME}/ folder")
    return folder


def _unpacking(members: list) -> Iterator:
    """``members`` with a progress bar on a terminal (none when stderr is not one)."""
    return iter(tqdm(members, desc="Unpacking ICT-FaceKit", unit="file", disable=None, leave=False))


def download(url: str, destination: Path, timeout_s: float = 60.0) -> None:
    """Download ``url`` to ``destination`` with a progress bar, atomically.

    The bytes go to a temporary file beside ``destination`` that is renamed into place only
    when the whole body (as announced by Content-Length) has arrived.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            expected = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with partial.open("wb") as out, tqdm(
                total=expected, unit="B", unit_scale=True, desc="Downloading ICT-FaceKit",
                disable=None, leave=False,
            ) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        if expected is not None and received != expected:
            raise ModelError(
                f"download of {url} was truncated ({received} of {expected} bytes)"
            )
        os.replace(partial, destination)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ModelError(f"could not download ICT-FaceKit from {url} ({reason})") from None
    except ModelError:
        raise
    except http.client.HTTPException as exc:  # IncompleteRead and friends
        raise ModelError(f"download of {url} failed ({type(exc).__name__}: {exc})") from None
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def verified_model_folder(
    checksums: Mapping[str, str],
    cache_dir: Path,
    environ: Mapping[str, str] | None = None,
    shared_archive: Path = SHARED_ARCHIVE,
    url: str = DOWNLOAD_URL,
) -> Iterator[Path]:
    """Yield a ``FaceXModel`` folder whose files match ``checksums``.

    Archives are extracted into a temporary folder that is removed afterwards. Looks in
    ``$ICT_FACEKIT_DIR``, then ``shared_archive``, then a download of ``url`` kept in
    ``cache_dir`` (fetched once).
    """
    environ = os.environ if environ is None else environ
    with tempfile.TemporaryDirectory(prefix="ict-facekit-") as scratch:
        folder = _locate(checksums, cache_dir, environ, shared_archive, url, Path(scratch))
        verify_folder(folder, checksums)
        yield folder


def alternatives(shared_archive: Path = SHARED_ARCHIVE) -> str:
    """What a user without network can do instead (appended to a failed download's line)."""
    return (f"without network, set ${ENV_DIR} to a {FOLDER_NAME}/ folder (an ICT-FaceKit checkout) or an "
            f"archive of it, or put the packed archive at {shared_archive}")


def _locate(
    checksums: Mapping[str, str],
    cache_dir: Path,
    environ: Mapping[str, str],
    shared_archive: Path,
    url: str,
    scratch: Path,
) -> Path:
    configured = environ.get(ENV_DIR)
    if configured:
        path = Path(configured).expanduser()
        announce_build(path)
        if is_archive(path):
            return extract_archive(path, scratch)
        folder = find_model_folder(path) if path.is_dir() else None
        if folder is None:
            raise ModelError(
                f"{ENV_DIR}={configured} is neither a folder holding {FOLDER_NAME}/ nor an archive of it"
            )
        return folder
    if shared_archive.is_file():
        announce_build(shared_archive)
        return extract_archive(shared_archive, scratch)
    downloaded = cache_dir / f"ICT-FaceKit-{PINNED_COMMIT}.zip"
    if not downloaded.is_file():
        log.info("downloading ICT-FaceKit %s from %s", PINNED_COMMIT[:8], url)
        try:
            download(url, downloaded)
        except ModelError as exc:
            raise ModelError(f"{exc}; {alternatives(shared_archive)}") from None
    announce_build(downloaded)
    try:
        folder = extract_archive(downloaded, scratch)
        verify_folder(folder, checksums)
    except ModelError:
        downloaded.unlink(missing_ok=True)  # a bad download must not be reused
        raise
    return folder
