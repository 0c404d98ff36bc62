"""68-point landmark files beside images and scans.

Formats (the file shares the stem of the image or scan it annotates: ``face.jpg`` + ``face.pts``):

* ``.pts``: the 300-W / iBUG format: ``version: 1``, ``n_points: 68``, then the points as
  ``x y`` lines between ``{`` and ``}``. Its coordinates are 1-based (Matlab's convention: the
  centre of the top-left pixel is (1, 1)); they are shifted to 0-based on reading.
* ``.txt``: 68 lines of ``x y`` (2D) or ``x y z`` (3D), separated by spaces or commas;
  0-based pixel coordinates (pixel centres at integers), or the scan's own units for 3D.
* ``.npy``: a (68, 2) or (68, 3) array, same conventions as ``.txt``.

Points follow the Multi-PIE 68-point order (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
mouth 48-67), as :attr:`models.face_model.FaceModel.landmark_indices` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data.errors import DataError

__all__ = ["LANDMARK_SUFFIXES", "NUM_LANDMARKS", "find_landmarks", "read_landmarks"]

NUM_LANDMARKS = 68
LANDMARK_SUFFIXES = {2: (".pts", ".txt", ".npy"), 3: (".txt", ".npy")}


def _read_pts(path: Path) -> np.ndarray:
    text = path.read_text(errors="replace")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise DataError(f"{path}: not a .pts file (no '{{ ... }}' block of points)")
    try:
        values = np.array(text[start + 1:end].split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: the points are not numbers") from None
    if values.size % 2:
        raise DataError(f"{path}: an odd count of coordinates ({values.size})")
    return values.reshape(-1, 2) - 1.0  # 1-based -> 0-based pixel centres


def _read_txt(path: Path, dims: int) -> np.ndarray:
    try:
        values = np.array(path.read_text(errors="replace").replace(",", " ").split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: the landmarks are not numbers") from None
    if values.size % dims:
        raise DataError(f"{path}: {values.size} numbers are not {dims} per landmark")
    return values.reshape(-1, dims)


def read_landmarks(path: str | Path, dims: int = 2) -> np.ndarray:
    """(68, dims) float32 landmarks from a ``.pts`` (2D only), ``.txt`` or ``.npy`` file.

    Raises :class:`DataError` for an unreadable file, a wrong count or non-finite values.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LANDMARK_SUFFIXES[dims]:
        raise DataError(f"{path}: {dims}D landmarks are read from {', '.join(LANDMARK_SUFFIXES[dims])} files")
    try:
        if suffix == ".pts":
            points = _read_pts(path)
        elif suffix == ".txt":
            points = _read_txt(path, dims)
        else:
            points = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read landmarks {path}: {exc}") from None
    if points.shape != (NUM_LANDMARKS, dims):
        raise DataError(f"{path}: expected {NUM_LANDMARKS}x{dims} landmarks, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise DataError(f"{path}: landmarks must be finite numbers")
    return points.astype(np.float32)


def find_landmarks(path: Path, dims: int = 2) -> Path | None:
    """The landmark file beside ``path`` (same stem, first of ``.pts``, ``.txt``, ``.npy`` that
    exists; any case of the suffix), or None."""
    for suffix in LANDMARK_SUFFIXES[dims]:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None
