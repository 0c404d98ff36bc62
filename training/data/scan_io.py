"""Small readers for 3D face scans: Wavefront OBJ and PLY (ASCII and binary), as triangle meshes.

* OBJ: ``v x y z`` records, optionally followed by ``r g b`` vertex colours in [0, 1] (the
  common extension; a 4th number alone is a homogeneous w and is ignored); ``f`` records with
  ``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn`` references, 1-based or negative (relative).
* PLY: ``format ascii``, ``binary_little_endian`` or ``binary_big_endian``; the ``vertex``
  element's ``x``, ``y``, ``z`` and optional ``red``, ``green``, ``blue`` (integers out of 255,
  or floats in [0, 1]); the ``face`` element's ``vertex_indices`` (or ``vertex_index``) list.

Polygons are split into triangle fans. Positions stay in the file's units (see
:mod:`training.data.scans` for the unit rule). A mesh without faces is an error: scans are
rendered, so they need triangles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.errors import DataError

__all__ = ["SCAN_SUFFIXES", "ScanMesh", "read_obj", "read_ply", "read_scan"]

SCAN_SUFFIXES = (".obj", ".ply")


@dataclass(frozen=True, eq=False)
class ScanMesh:
    """A scan as read: vertices (V, 3) float64 in the file's units; triangles (T, 3) int64;
    colours (V, 3) float32 sRGB in [0, 1], or None."""

    vertices: np.ndarray
    triangles: np.ndarray
    colours: np.ndarray | None = None


def _fan(polygon: list[int]) -> list[tuple[int, int, int]]:
    return [(polygon[0], polygon[k], polygon[k + 1]) for k in range(1, len(polygon) - 1)]


def _checked(path: Path, vertices: np.ndarray, triangles: np.ndarray, colours: np.ndarray | None) -> ScanMesh:
    if len(vertices) == 0:
        raise DataError(f"{path}: no vertices")
    if len(triangles) == 0:
        raise DataError(f"{path}: no faces (a point cloud cannot be rendered)")
    if triangles.min() < 0 or triangles.max() >= len(vertices):
        raise DataError(f"{path}: a face refers to a vertex outside 1..{len(vertices)}")
    if not np.isfinite(vertices).all():
        raise DataError(f"{path}: vertex positions must be finite")
    return ScanMesh(vertices, triangles.astype(np.int64), colours)


def read_obj(path: str | Path) -> ScanMesh:
    """A triangle mesh from an OBJ file (see the module doc)."""
    path = Path(path)
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    positions: list[list[float]] = []
    colours: list[list[float]] = []
    triangles: list[tuple[int, int, int]] = []
    try:
        for line in lines:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == b"v":
                values = [float(x) for x in fields[1:7]]
                positions.append(values[:3])
                if len(values) >= 6:
                    colours.append(values[3:6])
            elif fields[0] == b"f":
                refs = [int(f.split(b"/")[0]) for f in fields[1:]]
                count = len(positions)
                triangles.extend(_fan([r - 1 if r > 0 else count + r for r in refs]))
    except ValueError:
        raise DataError(f"{path}: malformed record {line[:60]!r}") from None
    vertices = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    rgb = np.asarray(colours, dtype=np.float32) if colours and len(colours) == len(positions) else None
    return _checked(path, vertices, np.asarray(triangles, dtype=np.int64).reshape(-1, 3), rgb)


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


@dataclass
class _Element:
    name: str
    count: int
    properties: list[tuple[str, str, str | None]]  # (name, value type, list count type or None)


def _ply_header(path: Path, data: bytes) -> tuple[str, list[_Element], int]:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise DataError(f"{path}: not a PLY file")
    body = data.index(b"\n", end) + 1
    fmt, elements = "", []
    for raw in data[:end].decode("ascii", errors="replace").splitlines()[1:]:
        words = raw.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        try:
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                elements.append(_Element(words[1], int(words[2]), []))
            elif words[0] == "property" and words[1] == "list":
                elements[-1].properties.append((words[4], _PLY_TYPES[words[3]], _PLY_TYPES[words[2]]))
            elif words[0] == "property":
                elements[-1].properties.append((words[2], _PLY_TYPES[words[1]], None))
        except (IndexError, KeyError, ValueError):
            raise DataError(f"{path}: malformed PLY header line {raw!r}") from None
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise DataError(f"{path}: unsupported PLY format {fmt!r}")
    return fmt, elements, body


def _read_binary(element: _Element, data: bytes, offset: int, order: str) -> tuple[dict[str, np.ndarray], int]:
    """One element's columns (lists as (N, k) when all have k entries, else object arrays)."""
    if all(kind is None for _, _, kind in element.properties):
        dtype = np.dtype([(name, order + t) for name, t, _ in element.properties])
        table = np.frombuffer(data, dtype, element.count, offset)
        return {name: table[name] for name in dtype.names}, offset + dtype.itemsize * element.count
    if len(element.properties) == 1 and element.count:  # one list (faces): try equal lengths at once
        name, t, count_type = element.properties[0]
        first = int(np.frombuffer(data, order + count_type, 1, offset)[0])
        dtype = np.dtype([("n", order + count_type), ("i", order + t, (first,))])
        if offset + dtype.itemsize * element.count <= len(data):
            table = np.frombuffer(data, dtype, element.count, offset)
            if (table["n"] == first).all():
                return {name: table["i"]}, offset + dtype.itemsize * element.count
    columns: dict[str, list] = {name: [] for name, _, _ in element.properties}
    for _ in range(element.count):
        for name, t, count_type in element.properties:
            if count_type is None:
                value = np.frombuffer(data, order + t, 1, offset)[0]
                offset += np.dtype(t).itemsize
            else:
                n = int(np.frombuffer(data, order + count_type, 1, offset)[0])
                offset += np.dtype(count_type).itemsize
                value = np.frombuffer(data, order + t, n, offset)
                offset += n * np.dtype(t).itemsize
            columns[name].append(value)
    return {name: np.asarray(values) if element.properties[i][2] is None else values
            for i, (name, values) in enumerate(columns.items())}, offset


def _read_ascii(element: _Element, lines: list[str], start: int) -> tuple[dict[str, object], int]:
    columns: dict[str, list] = {name: [] for name, _, _ in element.properties}
    for row in lines[start:start + element.count]:
        words, at = row.split(), 0
        for name, _, count_type in element.properties:
            if count_type is None:
                columns[name].append(float(words[at]))
                at += 1
            else:
                n = int(words[at])
                columns[name].append([int(w) for w in words[at + 1:at + 1 + n]])
                at += 1 + n
    return {name: np.asarray(values) if element.properties[i][2] is None else values
            for i, (name, values) in enumerate(columns.items())}, start + element.count


def read_ply(path: str | Path) -> ScanMesh:
    """A triangle mesh from a PLY file (see the module doc)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    fmt, elements, offset = _ply_header(path, data)
    tables: dict[str, dict] = {}
    lines = re.split(r"\r?\n", data[offset:].decode("ascii", errors="replace")) if fmt == "ascii" else []
    at = 0
    try:
        for element in elements:
            if {"vertex", "face"} <= set(tables):
                break
            if fmt == "ascii":
                tables[element.name], at = _read_ascii(element, lines, at)
            else:
                order = "<" if fmt == "binary_little_endian" else ">"
                tables[element.name], offset = _read_binary(element, data, offset, order)
    except (ValueError, IndexError):
        raise DataError(f"{path}: the PLY body is shorter than its header says, or malformed") from None
    vertex = tables.get("vertex", {})
    if not {"x", "y", "z"} <= set(vertex):
        raise DataError(f"{path}: no vertex x, y, z properties")
    vertices = np.stack([np.asarray(vertex[k], dtype=np.float64) for k in "xyz"], axis=1)
    colours = None
    if {"red", "green", "blue"} <= set(vertex):
        rgb = np.stack([np.asarray(vertex[k]) for k in ("red", "green", "blue")], axis=1)
        colours = (rgb / 255.0 if np.issubdtype(rgb.dtype, np.integer) or rgb.max() > 1.0 else rgb).astype(np.float32)
    face = tables.get("face", {})
    polygons = face.get("vertex_indices", face.get("vertex_index", []))
    if isinstance(polygons, np.ndarray) and polygons.ndim == 2:  # all polygons of one size: fans at once
        p = polygons.astype(np.int64)
        triangles = np.concatenate([p[:, [0, k, k + 1]] for k in range(1, p.shape[1] - 1)] or [np.zeros((0, 3))])
    else:
        triangles = np.asarray([t for polygon in polygons for t in _fan([int(i) for i in polygon])], dtype=np.int64)
    return _checked(path, vertices, triangles.astype(np.int64).reshape(-1, 3), colours)


def read_scan(path: str | Path) -> ScanMesh:
    """An OBJ or PLY scan (by suffix, any case)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".obj":
        return read_obj(path)
    if suffix == ".ply":
        return read_ply(path)
    raise DataError(f"{path}: scans are read from {', '.join(SCAN_SUFFIXES)} files")
