"""The compact converted face-model cache in the user cache folder.

One uncompressed ``.npz`` holds every array; a ``digest`` entry records which source
(checksum table) and which converter version produced it, so a change of either rebuilds
it. Files are written under a temporary name and renamed into place.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import platformdirs

log = logging.getLogger(__name__)

CACHE_ENV = "FACEFROMX_CACHE_DIR"
FORMAT_VERSION = 1


def cache_root() -> Path:
    """``$FACEFROMX_CACHE_DIR`` if set, else the platform's user cache folder for the app."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("facefromx"))


def cache_digest(source_digest: str) -> str:
    return f"v{FORMAT_VERSION}-{source_digest}"


def load_cached(path: Path, digest: str) -> dict[str, np.ndarray] | None:
    """The cached arrays if ``path`` exists, is readable and was built for ``digest``."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["digest"]) != digest:
                log.info("face-model cache %s is stale; rebuilding", path)
                return None
            return {key: data[key] for key in data.files if key != "digest"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        log.warning("face-model cache %s is unreadable (%s); rebuilding", path, exc)
        return None


def save_cached(path: Path, digest: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, digest=np.asarray(digest), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
