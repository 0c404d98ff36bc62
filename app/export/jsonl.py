"""JSON Lines (``NAME.jsonl``): one object per source frame, in order (docs/CONTRACT.md).

Each line holds exactly: ``index``, ``timestamp`` (s), ``found``, ``intrinsics`` (``fx``, ``fy``,
``cx``, ``cy`` in pixels of the source image), ``rotation`` (3x3, camera from head), ``translation``
(metres), ``identity`` (100 numbers), ``expression`` (ICT name -> weight), ``landmarks_2d``
(68 x [u, v] pixels), ``landmarks_3d`` (68 x [x, y, z] metres), ``gaze`` (``left`` and ``right``,
each ``{"yaw": rad, "pitch": rad}`` in the head frame with ARKit's signs, as the CSV's eye
columns) and ``blink`` (``left``, ``right``: 0 open to 1 closed), ``null`` where the eyes were
not measured. Rotation, translation and 3D
landmarks are in the export space (``gl``: ``S @ R``, ``S @ t``, ``S @ p`` with
``S = diag(1, -1, -1)``; the head frame is the face model's). A frame without a face carries
``found: false`` and the last face's values (``null`` before the first face); a source frame
with no result at all (not processed) is written the same way, its timestamp estimated from the
frame rate.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from app.export.base import Exporter, ExportSession
from app.export.frames import ExportFrame
from app.export.space import Space, points_to_space, rotation_to_space
from app.export.target import AtomicFile
from models.face_model import FaceModel

FIELDS: tuple[str, ...] = ("index", "timestamp", "found", "intrinsics", "rotation", "translation",
                           "identity", "expression", "landmarks_2d", "landmarks_3d", "gaze", "blink")

_FLUSH_BYTES = 1 << 20


def _listed(array: np.ndarray | None) -> list | None:
    return None if array is None else np.asarray(array).tolist()


def _gaze(gaze: np.ndarray | None) -> dict | None:
    """``{"left": {"yaw", "pitch"}, "right": ...}`` of a (2, 2) radians gaze, or None."""
    if gaze is None:
        return None
    rows = np.asarray(gaze, np.float64)
    return {side: {"yaw": float(row[0]), "pitch": float(row[1])} for side, row in zip(("left", "right"), rows, strict=True)}


def _blink(blink: np.ndarray | None) -> dict | None:
    """``{"left": w, "right": w}`` of a (2,) blink, or None."""
    if blink is None:
        return None
    left, right = np.asarray(blink, np.float64).tolist()
    return {"left": left, "right": right}


class JsonlSession(ExportSession):
    """Streaming JSON Lines writer (see the module docstring)."""

    format_name = "JSON Lines"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl"):
        super().__init__(path, fps=fps, face_model=face_model, space=space)
        self._names = face_model.expression_names
        self._target = AtomicFile(self.path)
        self._buffer: list[str] = []
        self._size = 0

    def record(self, frame: ExportFrame) -> dict:
        """The JSON object of one frame."""
        result = frame.result
        source = result if result is not None and result.has_face else frame.held
        camera = frame.intrinsics
        rotation = translation = identity = expression = lm2 = lm3 = gaze = blink = None
        if source is not None:
            if source.rotation is not None:
                rotation = rotation_to_space(source.rotation, self.space)
            if source.translation is not None:
                translation = points_to_space(np.asarray(source.translation, dtype=np.float64), self.space)
            if source.expression is not None:
                weights = np.asarray(source.expression).tolist()
                expression = dict(zip(self._names, weights, strict=True))
            if source.landmarks_3d is not None:
                lm3 = points_to_space(source.landmarks_3d, self.space)
            identity, lm2 = source.identity, source.landmarks_2d
            gaze, blink = _gaze(source.gaze), _blink(source.blink)
        return {
            "index": frame.index,
            "timestamp": frame.timestamp,
            "found": frame.found,
            "intrinsics": {"fx": camera.fx, "fy": camera.fy, "cx": camera.cx, "cy": camera.cy},
            "rotation": _listed(rotation),
            "translation": _listed(translation),
            "identity": _listed(identity),
            "expression": expression,
            "landmarks_2d": _listed(lm2),
            "landmarks_3d": _listed(lm3),
            "gaze": gaze,
            "blink": blink,
        }

    def _write_frame(self, frame: ExportFrame) -> None:
        line = json.dumps(self.record(frame), separators=(",", ":"))
        self._buffer.append(line)
        self._size += len(line) + 1
        if self._size >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._target.write(("\n".join(self._buffer) + "\n").encode("utf-8"))
            self._buffer.clear()
            self._size = 0

    def _finish(self) -> None:
        self._flush()
        self._target.commit()

    def _discard(self) -> None:
        self._buffer.clear()
        self._target.abort()


class JsonlExporter(Exporter):
    """A JSON Lines file ``NAME.jsonl`` (see :mod:`app.export.jsonl`)."""

    format_name = "JSON Lines"

    def __init__(self, path: str | os.PathLike):
        super().__init__(Path(path))

    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> JsonlSession:
        return JsonlSession(self.path, fps=fps, face_model=face_model, space=space)
