"""The ``metadata`` JSON of a Record3D ``.r3d`` file: validation in, JSON out.

Keys read (see docs/FORMATS.md):

- ``w``, ``h``: RGB size in pixels (required).
- ``dw``, ``dh``: depth size (optional: older files lack them, depth is then the RGB size).
- ``fps``: frame rate (required).
- ``K``: 9 numbers, column-major, for the RGB size: ``fx = K[0]``, ``fy = K[4]``,
  ``cx = K[6]``, ``cy = K[7]`` (required).
- ``cameraType``: 0 TrueDepth, 1 LiDAR (optional, default 0).
- ``frameTimestamps``: seconds per frame, any origin (optional).
- ``poses``: 7 numbers per frame (qx, qy, qz, qw, px, py, pz); only its length is used, as
  the frame count when ``frameTimestamps`` is absent (optional).
- ``perFrameIntrinsicCoeffs``: per-frame intrinsics, supported as a list with one entry per
  frame, each entry ``[fx, fy, cx, cy]`` (more trailing numbers are ignored) in pixels of
  the RGB size, or the same numbers as one flat list of ``4 * frames`` numbers (optional;
  frames without an entry use ``K``).

The same keys, without the per-frame lists, form the take header that the app's recorder
(:mod:`capture.r3d_writer`) writes first (member ``facefromx/take.json``) so an interrupted
take can be read back.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics
from models.r3d.errors import R3DError

METADATA_MEMBER = "metadata"
TAKE_MEMBER = "facefromx/take.json"
TAKE_FORMAT = "facefromx-r3d-take/1"
MAX_SIDE = 16384
IDENTITY_POSE = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
# Local-header extra field of ``rgbd/{i}.jpg`` in which our writer keeps the frame timestamp
# (read back only when a take has no metadata): header id b"FX", then float64 seconds.
TIMESTAMP_EXTRA_ID = 0x5846
TIMESTAMP_EXTRA = struct.Struct("<d")


@dataclass(frozen=True, eq=False)
class R3DMetadata:
    """Validated metadata.

    Attributes:
        rgb_size: (w, h) of the colour images.
        depth_size: (dw, dh) of the depth maps (the RGB size when the file has no dw/dh).
        fps: frames per second.
        intrinsics: the camera of the RGB size (from ``K``).
        camera_type: 0 TrueDepth, 1 LiDAR.
        timestamps: (N,) float64 seconds from ``frameTimestamps``, or None.
        frame_count: frames the metadata lists (``frameTimestamps``, else ``poses``), or None.
        per_frame: (M, 4) float64 fx, fy, cx, cy per frame at the RGB size, or None.
    """

    rgb_size: tuple[int, int]
    depth_size: tuple[int, int]
    fps: float
    intrinsics: Intrinsics
    camera_type: int = 0
    timestamps: np.ndarray | None = None
    frame_count: int | None = None
    per_frame: np.ndarray | None = None

    def rgb_intrinsics(self, index: int) -> Intrinsics:
        """The camera of frame ``index`` at the RGB size (per-frame coefficients when present)."""
        if self.per_frame is None or index >= len(self.per_frame):
            return self.intrinsics
        fx, fy, cx, cy = (float(v) for v in self.per_frame[index])
        return Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=self.rgb_size[0], height=self.rgb_size[1])


def _fail(where: str, problem: str) -> R3DError:
    return R3DError(f"{where}: {problem}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _side(meta: dict, key: str, where: str, member: str) -> int:
    value = meta[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_SIDE:
        raise _fail(where, f"{member} key {key!r} must be a pixel count in 1..{MAX_SIDE}, got {value!r}")
    return value


def _numbers(value, key: str, where: str, member: str) -> np.ndarray:
    if not isinstance(value, list) or not all(_is_number(v) for v in value):
        raise _fail(where, f"{member} key {key!r} must be a list of finite numbers")
    return np.asarray(value, dtype=np.float64)


def _per_frame(value, where: str, member: str) -> np.ndarray | None:
    key = "perFrameIntrinsicCoeffs"
    if value is None or value == []:
        return None
    if isinstance(value, list) and all(_is_number(v) for v in value):
        if len(value) % 4:
            raise _fail(where, f"{member} key {key!r}: a flat list needs 4 numbers per frame, got {len(value)}")
        coeffs = np.asarray(value, dtype=np.float64).reshape(-1, 4)
    elif isinstance(value, list) and all(isinstance(row, list) and len(row) >= 4
                                         and all(_is_number(v) for v in row) for row in value):
        coeffs = np.asarray([row[:4] for row in value], dtype=np.float64)
    else:
        raise _fail(where, f"{member} key {key!r} must hold [fx, fy, cx, cy] per frame")
    if not (coeffs[:, :2] > 0).all():
        raise _fail(where, f"{member} key {key!r} has a focal length that is not positive")
    return coeffs


def parse_metadata(raw: bytes, where: str, member: str = METADATA_MEMBER) -> R3DMetadata:
    """Validate the JSON bytes of ``member``; R3DError names the first bad or missing key."""
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _fail(where, f"{member} is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise _fail(where, f"{member} is not a JSON object")
    for key in ("w", "h", "K", "fps"):
        if key not in meta:
            raise _fail(where, f"{member} is missing key {key!r}")
    w, h = _side(meta, "w", where, member), _side(meta, "h", where, member)
    if ("dw" in meta) != ("dh" in meta):
        raise _fail(where, f"{member} is missing key {'dh' if 'dw' in meta else 'dw'!r}")
    if "dw" in meta:
        depth_size = (_side(meta, "dw", where, member), _side(meta, "dh", where, member))
    else:
        depth_size = (w, h)
    fps = meta["fps"]
    if not _is_number(fps) or fps <= 0:
        raise _fail(where, f"{member} key 'fps' must be a positive number, got {fps!r}")
    k = _numbers(meta["K"], "K", where, member)
    if k.shape != (9,) or not (k[0] > 0 and k[4] > 0):
        raise _fail(where, f"{member} key 'K' must be 9 numbers (column-major) with positive focal lengths")
    intrinsics = Intrinsics(fx=float(k[0]), fy=float(k[4]), cx=float(k[6]), cy=float(k[7]), width=w, height=h)
    camera_type = meta.get("cameraType", 0)
    if camera_type not in (0, 1) or isinstance(camera_type, bool):
        raise _fail(where, f"{member} key 'cameraType' must be 0 (TrueDepth) or 1 (LiDAR), got {camera_type!r}")
    timestamps = None
    frame_count = None
    if meta.get("frameTimestamps"):  # absent or empty: the count comes from elsewhere
        timestamps = _numbers(meta["frameTimestamps"], "frameTimestamps", where, member)
        frame_count = len(timestamps)
    elif meta.get("poses"):
        if not isinstance(meta["poses"], list):
            raise _fail(where, f"{member} key 'poses' must be a list")
        frame_count = len(meta["poses"])
    return R3DMetadata(rgb_size=(w, h), depth_size=depth_size, fps=float(fps), intrinsics=intrinsics,
                       camera_type=int(camera_type), timestamps=timestamps, frame_count=frame_count,
                       per_frame=_per_frame(meta.get("perFrameIntrinsicCoeffs"), where, member))


def column_major_k(intrinsics: Intrinsics) -> list[float]:
    """``K`` as Record3D stores it: the 3x3 matrix, column by column."""
    i = intrinsics
    return [float(i.fx), 0.0, 0.0, 0.0, float(i.fy), 0.0, float(i.cx), float(i.cy), 1.0]


def header_dict(rgb_size: tuple[int, int], depth_size: tuple[int, int], fps: float,
                intrinsics: Intrinsics, camera_type: int) -> dict:
    """The keys every take has, whatever its length."""
    return {"w": rgb_size[0], "h": rgb_size[1], "dw": depth_size[0], "dh": depth_size[1], "fps": fps,
            "K": column_major_k(intrinsics), "cameraType": camera_type, "initPose": list(IDENTITY_POSE)}


def take_header_json(header: dict) -> bytes:
    """The take header member: the common keys plus a format tag."""
    return json.dumps({"format": TAKE_FORMAT, **header}).encode("utf-8")


def metadata_json(header: dict, timestamps: list[float]) -> bytes:
    """The final ``metadata`` member for a finished take."""
    meta = {**header, "frameTimestamps": timestamps, "poses": [list(IDENTITY_POSE) for _ in timestamps]}
    return json.dumps(meta).encode("utf-8")
