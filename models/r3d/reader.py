"""Frames of a Record3D ``.r3d`` file, by index (format: docs/FORMATS.md, :mod:`models.r3d.metadata`).

:class:`R3DReader` opens the ZIP container (:class:`~models.r3d.zip_reader.ZipArchive`), reads
the metadata, finds which frames the file holds, and decodes any frame on request. Frames come
on the DEPTH grid (``dw`` x ``dh``): colour is decoded (at 1/2, 1/4 or 1/8 scale straight from
the JPEG when it is that much larger) and resized with ``INTER_AREA``, and the intrinsics of the
RGB size are rescaled to the depth grid. Files without depth give colour frames on the RGB grid.
Depth is float32 metres with 0 where invalid (NaN, inf and negative values become 0).

A file with no ZIP central directory (a take whose writer was killed, or a file cut short) is
recovered (``recovered`` is True): every complete frame is kept. Its metadata comes from the
``metadata`` member when that survived, else from the take header the app's recorder puts
first; timestamps from the recorder's per-frame extra field.

Decoding methods may be called from several threads at once. Every problem with the file is a
:class:`~models.r3d.errors.R3DError` with one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from models.camera import Intrinsics
from models.frame import Frame
from models.r3d import lzfse
from models.r3d.errors import R3DError
from models.r3d.metadata import (
    METADATA_MEMBER,
    TAKE_MEMBER,
    TIMESTAMP_EXTRA,
    TIMESTAMP_EXTRA_ID,
    R3DMetadata,
    parse_metadata,
)
from models.r3d.zip_format import iter_extra_fields
from models.r3d.zip_reader import ZipArchive

__all__ = ["R3DReader"]

_FRAME_MEMBER = re.compile(r"rgbd/(\d+)\.(jpg|depth|conf)")
_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))
_F32_LE = np.dtype("<f4")


class R3DReader:
    """An opened ``.r3d`` file (see the module doc); use :meth:`open`, and :meth:`close` or ``with``.

    Attributes:
        path: the file.
        metadata: the validated :class:`~models.r3d.metadata.R3DMetadata`.
        num_frames: frames 0..num_frames-1 can be decoded.
        has_rgb, has_depth: whether the file holds colour (``rgbd/N.jpg``) and depth (``rgbd/N.depth``).
        grid: (width, height) of the delivered frames (depth size with depth, else RGB size).
        timestamps: (num_frames,) float64 seconds from the first frame.
    """

    def __init__(self, archive: ZipArchive):
        self._archive = archive
        self.path = archive.path
        kinds: dict[str, set[int]] = {"jpg": set(), "depth": set(), "conf": set()}
        for name in archive.members:
            match = _FRAME_MEMBER.fullmatch(name)
            if match:
                kinds[match[2]].add(int(match[1]))
        self.metadata = meta = self._read_metadata(archive)
        self.has_rgb, self.has_depth = bool(kinds["jpg"]), bool(kinds["depth"])
        if not (self.has_rgb or self.has_depth):
            raise R3DError(f"{self.path}: no frame members (rgbd/N.jpg or rgbd/N.depth)")
        if archive.recovered:
            count = 0
            while ((not self.has_rgb or count in kinds["jpg"])
                   and (not self.has_depth or count in kinds["depth"])):
                count += 1
            if meta.frame_count is not None:
                count = min(count, meta.frame_count)
        elif meta.frame_count is not None:
            count = meta.frame_count
        else:
            count = max(kinds["jpg"] | kinds["depth"]) + 1
        self.num_frames = count
        self.grid = meta.depth_size if self.has_depth else meta.rgb_size
        self.timestamps = self._relative_timestamps(count)

    @classmethod
    def open(cls, path: str | os.PathLike) -> R3DReader:
        """Open and index ``path``; R3DError when it is not a readable ``.r3d`` file."""
        archive = ZipArchive.open(Path(path))
        try:
            return cls(archive)
        except BaseException:
            archive.close()
            raise

    def _read_metadata(self, archive: ZipArchive) -> R3DMetadata:
        if METADATA_MEMBER in archive.members:
            return parse_metadata(archive.read(METADATA_MEMBER), str(self.path))
        if archive.recovered and TAKE_MEMBER in archive.members:
            return parse_metadata(archive.read(TAKE_MEMBER), str(self.path), TAKE_MEMBER)
        if archive.recovered:
            raise R3DError(f"{self.path}: truncated archive (no central directory, and the "
                           f"'metadata' member is missing or cut short)")
        raise R3DError(f"{self.path}: missing 'metadata' member (not a Record3D .r3d file?)")

    def _relative_timestamps(self, count: int) -> np.ndarray:
        """Seconds from the first frame: metadata, else the writer's extra field, else index / fps."""
        meta, archive = self.metadata, self._archive
        fallback = np.arange(count) / meta.fps
        if meta.timestamps is not None and len(meta.timestamps) >= count:
            stamps = meta.timestamps[:count].astype(np.float64)
        elif archive.recovered:
            stamps = np.full(count, np.nan)
            for index in range(count):
                member = archive.members.get(f"rgbd/{index}.jpg") or archive.members.get(f"rgbd/{index}.depth")
                payload = iter_extra_fields(member.local_extra).get(TIMESTAMP_EXTRA_ID, b"")
                if len(payload) == TIMESTAMP_EXTRA.size:
                    stamps[index] = TIMESTAMP_EXTRA.unpack(payload)[0]
            if not np.isfinite(stamps).all():
                return fallback
        else:
            return fallback
        return stamps - stamps[0] if count else stamps

    # -- what the file offers -----------------------------------------------------------------

    @property
    def recovered(self) -> bool:
        """True when the file had no central directory and its frames came from a scan."""
        return self._archive.recovered

    @property
    def scan_note(self) -> str:
        """For a recovered file, where the scan of its local headers stopped."""
        return self._archive.scan_note

    def intrinsics_at(self, index: int) -> Intrinsics:
        """The camera of frame ``index`` on the delivered grid (depth grid when there is depth)."""
        return self.metadata.rgb_intrinsics(index).scaled(*self.grid)

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> R3DReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding -----------------------------------------------------------------------------

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0); IndexError outside ``0..num_frames-1``."""
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} is outside 0..{self.num_frames - 1} of {self.path}")
        depth = self.depth_at(index) if self.has_depth else None
        rgb = self.rgb_at(index) if self.has_rgb else None
        return Frame(index=index, timestamp=float(self.timestamps[index]), intrinsics=self.intrinsics_at(index),
                     rgb=rgb, depth=depth)

    def depth_at(self, index: int) -> np.ndarray:
        """(dh, dw) float32 depth of frame ``index`` in metres, 0 where invalid."""
        dw, dh = self.metadata.depth_size
        raw = self._lzfse(self._member(index, "depth"), dw * dh * 4, index, f"rgbd/{index}.depth", "float32")
        depth = raw.view(_F32_LE).reshape(dh, dw)
        if depth.dtype != np.float32:  # big-endian host
            depth = depth.astype(np.float32)
        # NaN, inf and negative depth are invalid: 0.
        np.copyto(depth, np.float32(0), where=~((depth > 0) & (depth < np.inf)))
        return depth

    def rgb_at(self, index: int) -> np.ndarray:
        """(gh, gw, 3) uint8 RGB colour of frame ``index`` on the delivered grid."""
        blob = self._member(index, "jpg")
        w, h = self.metadata.rgb_size
        gw, gh = self.grid
        factor, flags = 1, cv2.IMREAD_COLOR
        for f, reduced in _REDUCED_FLAGS:
            if w % f == 0 and h % f == 0 and w // f >= gw and h // f >= gh:
                factor, flags = f, reduced
                break
        try:
            bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), flags) if blob else None
        except cv2.error:
            bgr = None
        if bgr is None:
            raise R3DError(f"{self.path}: frame {index}: corrupt JPEG 'rgbd/{index}.jpg'")
        if bgr.shape[:2] != (h // factor, w // factor):
            size = f"{bgr.shape[1] * factor}x{bgr.shape[0] * factor}"
            raise R3DError(f"{self.path}: frame {index}: colour image 'rgbd/{index}.jpg' is {size}, "
                           f"the metadata says {w}x{h}")
        if bgr.shape[:2] != (gh, gw):
            bgr = cv2.resize(bgr, (gw, gh), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def confidence_at(self, index: int) -> np.ndarray | None:
        """(dh, dw) uint8 LiDAR confidence (0 low, 1 medium, 2 high) of frame ``index``, or None."""
        name = f"rgbd/{index}.conf"
        if name not in self._archive.members:
            return None
        dw, dh = self.metadata.depth_size
        return self._lzfse(self._archive.read(name), dw * dh, index, name, "uint8").reshape(dh, dw)

    def _member(self, index: int, kind: str) -> bytes:
        name = f"rgbd/{index}.{kind}"
        if name not in self._archive.members:
            raise R3DError(f"{self.path}: frame {index}: missing frame member {name!r}")
        return self._archive.read(name)

    def _lzfse(self, blob: bytes, expected: int, index: int, name: str, what: str) -> np.ndarray:
        try:
            data = lzfse.decode(blob, expected)
        except lzfse.LzfseError as exc:
            raise R3DError(f"{self.path}: frame {index}: {name!r} is corrupt ({exc})") from None
        if len(data) != expected:
            dw, dh = self.metadata.depth_size
            got = f"{len(data)} bytes" if len(data) <= expected else f"more than {expected} bytes"
            raise R3DError(f"{self.path}: frame {index}: {name!r} holds {got}, expected {expected} "
                           f"({dw}x{dh} {what})")
        return data
