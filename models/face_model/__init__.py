"""The ICT-FaceKit Light face model: built once from the pinned source, then loaded from cache.

>>> model = load_face_model()
>>> model.vertices(identity, expression, region="face").shape
(9409, 3)
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from models.errors import ModelError
from models.face_model.arkit import ARKIT_NAMES
from models.face_model.cache import cache_digest, cache_root, load_cached, save_cached
from models.face_model.convert import convert_folder
from models.face_model.model import REGION_SIZES, FaceModel, Region
from models.face_model.source import (
    PINNED_COMMIT,
    checksums_digest,
    pinned_checksums,
    verified_model_folder,
)

__all__ = ["ARKIT_NAMES", "REGION_SIZES", "FaceModel", "Region", "load_face_model", "build_face_model"]

log = logging.getLogger(__name__)


def cache_path() -> Path:
    return cache_root() / "face-model" / f"ict-facekit-light-{PINNED_COMMIT[:8]}.npz"


def build_face_model(path: Path | None = None) -> Path:
    """Build (or rebuild) the converted cache from the first source found; return its path."""
    path = path or cache_path()
    checksums = pinned_checksums()
    digest = cache_digest(checksums_digest(checksums))
    with verified_model_folder(checksums, cache_dir=cache_root()) as folder:
        arrays = convert_folder(folder)
    save_cached(path, digest, arrays)
    log.info("face-model cache written to %s", path)
    return path


def _from_arrays(arrays: dict, source: str) -> FaceModel:
    return FaceModel(
        template=arrays["template"],
        identity_basis=arrays["identity_basis"],
        expression_basis=arrays["expression_basis"],
        expression_names=tuple(str(n) for n in arrays["expression_names"]),
        landmark_indices=arrays["landmark_indices"],
        uvs=arrays["uvs"],
        triangles=arrays["triangles"],
        triangle_uvs=arrays["triangle_uvs"],
        source=source,
    )


@functools.lru_cache(maxsize=1)
def load_face_model() -> FaceModel:
    """The face model, from the user cache (built there first if needed).

    Raises :class:`ModelError` with one line when no source can be found or verified.
    """
    path = cache_path()
    digest = cache_digest(checksums_digest(pinned_checksums()))
    arrays = load_cached(path, digest)
    if arrays is None:
        build_face_model(path)
        arrays = load_cached(path, digest)
        if arrays is None:
            raise ModelError(f"the face-model cache {path} could not be read back after building it")
    return _from_arrays(arrays, source=f"ICT-FaceKit Light {PINNED_COMMIT[:8]} ({path})")
