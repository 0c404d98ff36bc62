"""A small reader for ICT-FaceKit's OBJ files.

trimesh and friends split vertices at UV seams, which would break the face model's vertex
order; this reader keeps positions, texture coordinates and faces exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModelError


@dataclass(frozen=True)
class ObjMesh:
    """Contents of one OBJ file.

    positions: (V, 3) float64 in the file's units; uvs: (U, 2) float64; triangles and
    triangle_uvs: (T, 3) int64 zero-based indices (quads are split along their 0-2 diagonal).
    """

    positions: np.ndarray
    uvs: np.ndarray
    triangles: np.ndarray
    triangle_uvs: np.ndarray


def _floats(lines: list[bytes], columns: int, path: Path) -> np.ndarray:
    try:
        values = np.array(b" ".join(lines).split(), dtype=np.float64)
        return values.reshape(-1, columns)
    except ValueError as exc:
        raise ModelError(f"{path.name}: malformed vertex data ({exc})") from None


def _lines(path: Path, prefix: bytes) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from None
    n = len(prefix)
    return [line[n:] for line in data.split(b"\n") if line.startswith(prefix)]


def read_positions(path: Path) -> np.ndarray:
    """Only the ``v`` records of an OBJ file: (V, 3) float64."""
    return _floats(_lines(path, b"v "), 3, path)


def read_obj(path: Path) -> ObjMesh:
    """Positions, UVs and triangulated faces (with their UV indices) of an OBJ file."""
    data = path.read_bytes()
    v, vt, faces = [], [], []
    for line in data.split(b"\n"):
        if line.startswith(b"v "):
            v.append(line[2:])
        elif line.startswith(b"vt "):
            vt.append(line[3:])
        elif line.startswith(b"f "):
            faces.append(line[2:].split())
    positions = _floats(v, 3, path)
    uvs = _floats([b" ".join(line.split()[:2]) for line in vt], 2, path)
    triangles: list[tuple[int, int, int]] = []
    triangle_uvs: list[tuple[int, int, int]] = []
    for corners in faces:
        try:
            refs = [c.split(b"/") for c in corners]
            vi = [int(r[0]) - 1 for r in refs]
            ti = [int(r[1]) - 1 if len(r) > 1 and r[1] else -1 for r in refs]
        except ValueError:
            raise ModelError(f"{path.name}: malformed face record {b' '.join(corners)!r}") from None
        for k in range(1, len(vi) - 1):
            triangles.append((vi[0], vi[k], vi[k + 1]))
            triangle_uvs.append((ti[0], ti[k], ti[k + 1]))
    return ObjMesh(
        positions=positions,
        uvs=uvs,
        triangles=np.asarray(triangles, dtype=np.int64).reshape(-1, 3),
        triangle_uvs=np.asarray(triangle_uvs, dtype=np.int64).reshape(-1, 3),
    )
