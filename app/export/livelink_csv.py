"""Live Link Face CSV (``NAME.csv``): 52 ARKit curves and the head rotation per frame.

Columns (docs/FORMATS.md): ``Timecode``, ``BlendShapeCount`` (always 61: 52 curves + 9
rotations), the 52 ARKit curves in Apple's capitalisation in Live Link order (``EyeBlinkLeft``,
..., ``TongueOut``), then ``HeadYaw``, ``HeadPitch``, ``HeadRoll``, ``LeftEyeYaw``,
``LeftEyePitch``, ``LeftEyeRoll``, ``RightEyeYaw``, ``RightEyePitch``, ``RightEyeRoll``.

The values of a row are :func:`models.arkit_values.arkit_values` (shared with the live
streams): curves from the face model's ICT expressions (``browInnerUp`` and ``cheekPuff`` are
the mean of their halves, ``tongueOut`` is 0), eye yaw and pitch from the result's gaze (0
where gaze is not estimated; eye roll is always 0).

Head angles are radians, relative to a face looking straight into the camera, as
:func:`models.geometry.camera_rotation_to_euler` defines them in ARKit's right-handed face frame
(x to the subject's left, y up, z out of the face; rotation = yaw, then pitch, then roll):

- ``HeadYaw`` > 0: the subject turns to their own left (the face moves toward the image's right);
- ``HeadPitch`` > 0: the subject nods down (chin toward the chest);
- ``HeadRoll`` > 0: the head tilts toward the subject's right shoulder.

They do not depend on the export space. ``Timecode`` is ``HH:MM:SS:FF.mmm`` at the take's frame
rate from each frame's timestamp: ``FF`` counts frames within the second (the rate rounded to an
integer), ``.mmm`` is the sub-frame in thousandths of a frame. Frames without a face repeat the
previous values; frames before the first face are neutral (all 0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.export.base import Exporter, ExportSession
from app.export.frames import ExportFrame
from app.export.space import Space
from app.export.target import AtomicFile
from models.arkit_values import ANGLE_NAMES, CURVE_NAMES, VALUE_COUNT, arkit_values
from models.face_model import FaceModel
from models.geometry import camera_rotation_to_euler

ROTATION_COLUMNS: tuple[str, ...] = ANGLE_NAMES
CURVE_COLUMNS: tuple[str, ...] = CURVE_NAMES
COLUMNS: tuple[str, ...] = ("Timecode", "BlendShapeCount", *CURVE_COLUMNS, *ROTATION_COLUMNS)
BLEND_SHAPE_COUNT = VALUE_COUNT  # 61

_FLUSH_ROWS = 256


def timecode(seconds: float, fps: float) -> str:
    """``HH:MM:SS:FF.mmm`` of a time in seconds at ``fps`` (``.mmm``: thousandths of a frame)."""
    nominal = max(1, round(fps))
    thousandths = max(0, round(seconds * fps * 1000))
    frames, sub = divmod(thousandths, 1000)
    whole_seconds, frame = divmod(frames, nominal)
    minutes, second = divmod(whole_seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{second:02d}:{frame:02d}.{sub:03d}"


def head_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(HeadYaw, HeadPitch, HeadRoll) in radians of a camera-from-head rotation (OpenCV camera)."""
    return camera_rotation_to_euler(rotation)


class LiveLinkCsvSession(ExportSession):
    """Streaming Live Link Face CSV writer (see the module docstring)."""

    format_name = "Live Link Face CSV"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl"):
        super().__init__(path, fps=fps, face_model=face_model, space=space)
        self._arkit = face_model.arkit_matrix.astype(np.float64)
        self._target = AtomicFile(self.path)
        self._rows: list[str] = [",".join(COLUMNS)]

    def _flush(self) -> None:
        if self._rows:
            self._target.write(("\n".join(self._rows) + "\n").encode("ascii"))
            self._rows.clear()

    def _write_frame(self, frame: ExportFrame) -> None:
        values = arkit_values(frame.held, self._arkit)
        cells = ",".join(f"{value:.8f}" for value in values.tolist())
        self._rows.append(f"{timecode(frame.timestamp, self.fps)},{BLEND_SHAPE_COUNT},{cells}")
        if len(self._rows) >= _FLUSH_ROWS:
            self._flush()

    def _finish(self) -> None:
        self._flush()
        self._target.commit()

    def _discard(self) -> None:
        self._rows.clear()
        self._target.abort()


class LiveLinkCsvExporter(Exporter):
    """A Live Link Face CSV ``NAME.csv`` (see :mod:`app.export.livelink_csv`)."""

    format_name = "Live Link Face CSV"

    def __init__(self, path: str | os.PathLike):
        super().__init__(Path(path))

    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> LiveLinkCsvSession:
        return LiveLinkCsvSession(self.path, fps=fps, face_model=face_model, space=space)
