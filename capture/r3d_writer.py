"""Recording takes as Record3D ``.r3d`` files, frame by frame, safe against crashes and full disks.

The file format itself (ZIP records, LZFSE, metadata JSON) is :mod:`models.r3d`; this module
adds the take's life cycle (``.partial`` file, JPEG encoding, disk-full handling).

>>> with R3DWriter("take.r3d", 640, 480, 30.0, intrinsics) as writer:
...     writer.write(rgb, depth, timestamp)

Layout (a standard ZIP, every member stored):

1. ``facefromx/take.json``: the take header (``w``, ``h``, ``dw``, ``dh``, ``fps``, ``K``,
   ``cameraType``, ``initPose``), so an interrupted take can be read back.
2. per frame ``i``: ``rgbd/{i}.jpg`` (JPEG, quality 90 by default; its local header carries the
   frame timestamp as a float64 in extra field ``0x5846``), ``rgbd/{i}.depth`` (LZFSE of the
   row-major float32 metres, ``dh`` x ``dw``), and ``rgbd/{i}.conf`` (LZFSE of uint8
   confidence) when given.
3. on :meth:`R3DWriter.close`: ``metadata`` (the header plus ``frameTimestamps`` and identity
   ``poses``) and the central directory.

Until it is closed the take is ``PATH.partial``; each member is handed to the operating system
as it is written (unbuffered writes), so a killed process leaves every complete frame readable
by :class:`capture.r3d.R3DSource`, which recovers ``.partial`` files. ``close`` renames the
finished file to ``PATH``. A full disk raises ``CaptureError("disk full while recording ...")``
and leaves the frames written so far in the ``.partial`` file.
"""

from __future__ import annotations

import errno
import logging
import math
import os
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from capture.base import CaptureError
from models.camera import Intrinsics
from models.r3d import lzfse
from models.r3d.metadata import (
    MAX_SIDE,
    METADATA_MEMBER,
    TAKE_MEMBER,
    TIMESTAMP_EXTRA,
    TIMESTAMP_EXTRA_ID,
    header_dict,
    metadata_json,
    take_header_json,
)
from models.r3d.zip_format import EXTRA_HEADER
from models.r3d.zip_writer import ZipAppender

log = logging.getLogger(__name__)

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class R3DWriter:
    """Writes one take; use as a context manager (or call :meth:`close`).

    Args:
        path: the finished file (``.r3d``); ``path + ".partial"`` is written meanwhile.
        width, height: RGB size in pixels.
        fps: nominal frame rate written to the metadata.
        intrinsics: the colour camera; rescaled to ``width`` x ``height`` if given for
            another size.
        camera_type: 0 TrueDepth, 1 LiDAR.
        depth_size: (dw, dh) of the depth maps; default the RGB size.
        jpeg_quality: 0..100.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float, intrinsics: Intrinsics,
                 camera_type: int = 0, depth_size: tuple[int, int] | None = None, jpeg_quality: int = 90):
        dw, dh = depth_size if depth_size is not None else (width, height)
        for label, value in (("width", width), ("height", height), ("depth width", dw), ("depth height", dh)):
            if not isinstance(value, (int, np.integer)) or not 0 < value <= MAX_SIDE:
                raise ValueError(f"{label} must be an integer in 1..{MAX_SIDE}, got {value!r}")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps!r}")
        if camera_type not in (0, 1):
            raise ValueError(f"camera_type must be 0 (TrueDepth) or 1 (LiDAR), got {camera_type!r}")
        if (intrinsics.width, intrinsics.height) != (width, height):
            intrinsics = intrinsics.scaled(width, height)
        self.path = Path(path)
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.rgb_size = (int(width), int(height))
        self.depth_size = (int(dw), int(dh))
        self.intrinsics = intrinsics
        self._jpeg_params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        self._header = header_dict(self.rgb_size, self.depth_size, float(fps), intrinsics, int(camera_type))
        self._timestamps: list[float] = []
        self._state = "open"
        try:
            self._file = open(self.partial_path, "wb", buffering=0)  # closed in close()
        except OSError as exc:
            raise CaptureError(f"cannot create {self.partial_path}: {exc.strerror or exc}") from None
        self._zip = ZipAppender(self._file)
        self._guard(lambda: self._zip.add(TAKE_MEMBER, take_header_json(self._header)))

    @property
    def frames_written(self) -> int:
        return len(self._timestamps)

    def _guard(self, action) -> None:
        """Run a write; OSError -> CaptureError, and the writer is marked failed."""
        try:
            action()
        except OSError as exc:
            self._state = "failed"
            saved = f"{self.frames_written} frames saved in {self.partial_path}"
            if exc.errno in _DISK_FULL:
                raise CaptureError(f"disk full while recording {self.path}: {saved}") from None
            raise CaptureError(f"write error while recording {self.path} "
                               f"({exc.strerror or exc}): {saved}") from None

    def write(self, rgb: np.ndarray, depth: np.ndarray, timestamp: float,
              confidence: np.ndarray | None = None) -> int:
        """Append one frame; returns its index.

        Args:
            rgb: (height, width, 3) uint8, RGB order.
            depth: (dh, dw) floating point metres, 0 or NaN where invalid (stored as float32).
            timestamp: seconds (any origin; the reader makes them relative to the first frame).
            confidence: optional (dh, dw) uint8 (LiDAR: 0 low, 1 medium, 2 high).
        """
        if self._state != "open":
            raise CaptureError(f"cannot write to {self.path}: the writer is {self._state}")
        w, h = self.rgb_size
        dw, dh = self.depth_size
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.shape != (h, w, 3):
            raise ValueError(f"rgb must be {h}x{w}x3 uint8, got {getattr(rgb, 'shape', None)} "
                             f"{getattr(rgb, 'dtype', type(rgb).__name__)}")
        if not isinstance(depth, np.ndarray) or depth.dtype.kind != "f" or depth.shape != (dh, dw):
            raise ValueError(f"depth must be {dh}x{dw} floating point, got {getattr(depth, 'shape', None)} "
                             f"{getattr(depth, 'dtype', type(depth).__name__)}")
        if confidence is not None and (confidence.dtype != np.uint8 or confidence.shape != (dh, dw)):
            raise ValueError(f"confidence must be {dh}x{dw} uint8, got {confidence.shape} {confidence.dtype}")
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be finite, got {timestamp!r}")
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), self._jpeg_params)
        if not ok:
            raise CaptureError(f"could not encode frame {self.frames_written} of {self.path} as JPEG")
        depth_blob = lzfse.encode(np.ascontiguousarray(depth, dtype="<f4").tobytes())
        conf_blob = None if confidence is None else lzfse.encode(np.ascontiguousarray(confidence).tobytes())
        index = self.frames_written
        stamp = EXTRA_HEADER.pack(TIMESTAMP_EXTRA_ID, TIMESTAMP_EXTRA.size) + TIMESTAMP_EXTRA.pack(float(timestamp))

        def append() -> None:
            self._zip.add(f"rgbd/{index}.jpg", jpeg.tobytes(), extra=stamp)
            self._zip.add(f"rgbd/{index}.depth", depth_blob)
            if conf_blob is not None:
                self._zip.add(f"rgbd/{index}.conf", conf_blob)

        self._guard(append)
        self._timestamps.append(float(timestamp))
        return index

    def close(self) -> Path | None:
        """Finish the take: metadata, central directory, rename to ``path``; returns ``path``.

        After a failed write the take stays ``PATH.partial`` (recoverable) and None is returned.
        Safe to call twice.
        """
        if self._state == "closed":
            return self.path
        if self._state == "failed":
            self._release()
            log.warning("recording %s stopped early: %d frames are recoverable from %s",
                        self.path, self.frames_written, self.partial_path)
            return None

        def finish() -> None:
            self._zip.add(METADATA_MEMBER, metadata_json(self._header, self._timestamps))
            self._zip.finish()
            os.fsync(self._file.fileno())

        try:
            self._guard(finish)
        except CaptureError:
            self._release()
            raise
        self._release()
        try:
            os.replace(self.partial_path, self.path)
        except OSError as exc:
            self._state = "failed"
            raise CaptureError(f"cannot rename {self.partial_path} to {self.path}: {exc.strerror or exc}") from None
        self._state = "closed"
        log.info("recorded %d frames to %s", self.frames_written, self.path)
        return self.path

    def _release(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            log.warning("closing %s: %s", self.partial_path, exc)

    def __enter__(self) -> R3DWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except CaptureError as close_error:  # keep the original exception; report this one
            log.error("%s", close_error)
