"""OBJ sequences: ``frame_000000.obj``, ``frame_000001.obj``, ... one per frame with a face.

Every file holds the same topology: the face region's vertices in face-model order (``v``, in
metres, in the export space, 6 decimals), its UVs (``vt``) and triangles (``f v/vt``, counter-
clockwise seen from outside, 1-based). Files are named by source frame number; frames where no
face was found are left out, so the numbering stays that of the source.

Writing is parallel: a small thread pool formats vertices with numpy (a fixed-width digit
layout, see :func:`format_vertex_lines`) and writes files (both release the GIL). The sequence
is written into a temporary folder beside the target and moved into place on commit.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.export.base import Exporter, ExportSession
from app.export.errors import ExportError
from app.export.frames import ExportFrame
from app.export.mesh import FaceTopology, face_topology
from app.export.space import Space, points_to_space
from app.export.target import AtomicDir, write_all
from models.face_model import FaceModel

log = logging.getLogger(__name__)

DECIMALS = 6
_SCALE = 10**DECIMALS
_INT_DIGITS = 3  # fast path: |x| < 1000 m
_FIELD = 1 + 1 + _INT_DIGITS + 1 + DECIMALS  # " " sign digits "." decimals
_LINE = 1 + 3 * _FIELD + 1  # "v" fields "\n"


def frame_file_name(index: int) -> str:
    """``frame_000042.obj`` for source frame 42."""
    return f"frame_{index:06d}.obj"


def default_workers() -> int:
    """Writer threads: the usable cores, between 2 and 4 (file writes overlap formatting)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, min(4, cores))


def _slow_vertex_lines(vertices: np.ndarray) -> bytes:
    return "".join(f"v {x:.{DECIMALS}f} {y:.{DECIMALS}f} {z:.{DECIMALS}f}\n"
                   for x, y, z in vertices.tolist()).encode("ascii")


def format_vertex_lines(vertices: np.ndarray) -> bytes:
    """``v x y z`` lines for an (N, 3) array, 6 decimals (like ``'%.6f'``), as ASCII bytes.

    Vectorized: values are rounded to integers of 1e-6, split into digits into a fixed-width
    (N, 38) byte grid, and the unused sign and leading-zero cells are masked out. Non-finite
    values or |x| >= 1000 fall back to Python formatting.
    """
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must be (N, 3), got {v.shape}")
    n = v.shape[0]
    magnitude = np.abs(v)
    if not np.isfinite(v).all() or (n and magnitude.max() >= 10**_INT_DIGITS - 1):
        return _slow_vertex_lines(v)
    q = np.rint(magnitude * _SCALE).astype(np.int64)
    negative = (v < 0) & (q > 0)
    whole, frac = np.divmod(q, _SCALE)
    cells = np.empty((n, 3, _FIELD), dtype=np.uint8)
    keep = np.ones((n, 3, _FIELD), dtype=bool)
    cells[..., 0] = ord(" ")
    cells[..., 1] = ord("-")
    keep[..., 1] = negative
    for k in range(_INT_DIGITS):
        power = 10 ** (_INT_DIGITS - 1 - k)
        cells[..., 2 + k] = (whole // power) % 10 + 48
        if power > 1:
            keep[..., 2 + k] = whole >= power
    cells[..., 2 + _INT_DIGITS] = ord(".")
    for k in range(DECIMALS):
        cells[..., 3 + _INT_DIGITS + k] = (frac // 10 ** (DECIMALS - 1 - k)) % 10 + 48
    grid = np.empty((n, _LINE), dtype=np.uint8)
    mask = np.ones((n, _LINE), dtype=bool)
    grid[:, 0] = ord("v")
    grid[:, 1:-1] = cells.reshape(n, 3 * _FIELD)
    mask[:, 1:-1] = keep.reshape(n, 3 * _FIELD)
    grid[:, -1] = ord("\n")
    return grid[mask].tobytes()


@functools.lru_cache(maxsize=4)
def _static_part(topology: FaceTopology) -> bytes:
    """The ``vt`` and ``f`` lines shared by every file of a sequence."""
    uv_lines = "".join(f"vt {u:.{DECIMALS}f} {v:.{DECIMALS}f}\n" for u, v in topology.uvs.tolist())
    corners = np.stack([topology.triangles + 1, topology.triangle_uvs + 1], axis=-1).reshape(-1, 6)
    face_lines = "".join("f {}/{} {}/{} {}/{}\n".format(*row) for row in corners.tolist())
    return (uv_lines + "s off\n" + face_lines).encode("ascii")


class ObjSequenceSession(ExportSession):
    """Streaming OBJ sequence writer (see the module docstring)."""

    format_name = "OBJ sequence"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl",
                 workers: int | None = None):
        super().__init__(path, fps=fps, face_model=face_model, space=space)
        self.topology = face_topology(face_model)
        self._static = _static_part(self.topology)
        self._target = AtomicDir(self.path)
        self._workers = workers or default_workers()
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="obj-export")
        self._pending: deque[Future] = deque()
        self.files_written = 0
        self.skipped: list[int] = []  # frames left out (no face found)

    def _write_file(self, index: int, timestamp: float, vertices: np.ndarray) -> None:
        points = points_to_space(vertices, self.space)
        header = (f"# FaceFromX face mesh, source frame {index}, t = {timestamp:.6f} s\n"
                  f"# {self.topology.num_vertices} vertices in metres, {self.space} camera frame\n"
                  f"o face\n").encode("ascii")
        body = format_vertex_lines(points)
        fd = os.open(self._target.temp_path / frame_file_name(index), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            for part in (header, body, self._static):
                write_all(fd, part)
        finally:
            os.close(fd)

    def _drain(self, keep: int) -> None:
        while len(self._pending) > keep or (self._pending and self._pending[0].done()):
            self._pending.popleft().result()
            self.files_written += 1

    def _write_frame(self, frame: ExportFrame) -> None:
        if not frame.found:
            self.skipped.append(frame.index)
            return
        vertices = self.topology.check_vertices(frame.result.vertices, frame.index)
        self._drain(keep=2 * self._workers)
        self._pending.append(self._pool.submit(self._write_file, frame.index, frame.timestamp, vertices))

    def _finish(self) -> None:
        self._drain(keep=0)
        self._pool.shutdown(wait=True)
        if self.files_written == 0:
            raise ExportError(f"cannot export {self.path}: no face was found in any of the "
                              f"{self.frames_written} frames")
        if self.skipped:
            log.info("%s: %d frames without a face left out (first: %s)", self.path, len(self.skipped),
                     ", ".join(map(str, self.skipped[:10])))
        self._target.commit()

    def _discard(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        self._target.abort()


class ObjSequenceExporter(Exporter):
    """An OBJ sequence in the folder ``path`` (created if missing; its parent must exist)."""

    format_name = "OBJ sequence"

    def __init__(self, path: str | os.PathLike, workers: int | None = None):
        super().__init__(Path(path))
        self.workers = workers

    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> ObjSequenceSession:
        return ObjSequenceSession(self.path, fps=fps, face_model=face_model, space=space, workers=self.workers)
