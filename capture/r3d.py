"""Record3D ``.r3d`` files as a frame source (format: docs/FORMATS.md, :mod:`capture.r3d_metadata`).

``path/to/take.r3d`` (any case), or ``take.r3d.partial`` for a take whose recording was cut
short. Frames come on the DEPTH grid (``dw`` x ``dh``): colour is decoded (at 1/2, 1/4 or 1/8
scale straight from the JPEG when it is that much larger) and resized with ``INTER_AREA``,
and the intrinsics of the RGB size are rescaled to the depth grid. Files without depth give
colour frames on the RGB grid. Depth is float32 metres with 0 where invalid (NaN, inf and
negative values become 0).

A file with no ZIP central directory (a take whose writer was killed, or a file cut short)
is recovered: its local headers are scanned, every complete frame is kept, and a warning says
how many. Its metadata comes from the ``metadata`` member when that survived, else from the
take header our writer puts first; timestamps from the writer's per-frame extra field.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from capture import r3d_lzfse
from capture.base import CaptureError, FrameSource, Mode
from capture.r3d_metadata import (
    METADATA_MEMBER,
    TAKE_MEMBER,
    TIMESTAMP_EXTRA,
    TIMESTAMP_EXTRA_ID,
    R3DMetadata,
    parse_metadata,
)
from capture.r3d_zip import ZipArchive, iter_extra_fields
from models.camera import Intrinsics
from models.frame import Frame

log = logging.getLogger(__name__)

_FRAME_MEMBER = re.compile(r"rgbd/(\d+)\.(jpg|depth|conf)")
_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))
_F32_LE = np.dtype("<f4")


def default_workers() -> int:
    """Decode threads for :meth:`R3DSource.frames`: one per usable core, at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


class R3DSource(FrameSource):
    """Frames of a Record3D ``.r3d`` file, in order (:meth:`frames`) or by index (:meth:`frame_at`).

    The file is indexed on first use (any property, :meth:`open`, :meth:`frame_at` or
    iteration) and released by :meth:`close`. ``workers`` decode threads prefetch frames
    during iteration (default :func:`default_workers`; 1 decodes in the calling thread).
    Every problem with the file is a :class:`CaptureError` with one line.
    """

    name = "r3d"

    def __init__(self, path: str | os.PathLike, workers: int | None = None):
        self.path = Path(path)
        self.name = self.path.name
        self._workers = default_workers() if workers is None else max(1, int(workers))
        self._lock = threading.RLock()
        self._archive: ZipArchive | None = None
        self._pools: set[ThreadPoolExecutor] = set()
        self._meta: R3DMetadata | None = None
        self._num_frames = 0
        self._has_rgb = self._has_depth = False
        self._timestamps = np.zeros(0)
        self._grid = (1, 1)

    # -- opening ------------------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            if self._archive is not None:
                return
            archive = ZipArchive.open(self.path)
            try:
                self._index(archive)
            except BaseException:
                archive.close()
                raise
            self._archive = archive

    def _index(self, archive: ZipArchive) -> None:
        kinds: dict[str, set[int]] = {"jpg": set(), "depth": set(), "conf": set()}
        for name in archive.members:
            match = _FRAME_MEMBER.fullmatch(name)
            if match:
                kinds[match[2]].add(int(match[1]))
        if METADATA_MEMBER in archive.members:
            meta = parse_metadata(archive.read(METADATA_MEMBER), str(self.path))
        elif archive.recovered and TAKE_MEMBER in archive.members:
            meta = parse_metadata(archive.read(TAKE_MEMBER), str(self.path), TAKE_MEMBER)
        elif archive.recovered:
            raise CaptureError(f"{self.path}: truncated archive (no central directory, and the "
                               f"'metadata' member is missing or cut short)")
        else:
            raise CaptureError(f"{self.path}: missing 'metadata' member (not a Record3D .r3d file?)")
        self._has_rgb, self._has_depth = bool(kinds["jpg"]), bool(kinds["depth"])
        if not (self._has_rgb or self._has_depth):
            raise CaptureError(f"{self.path}: no frame members (rgbd/N.jpg or rgbd/N.depth)")
        if archive.recovered:
            count = 0
            while ((not self._has_rgb or count in kinds["jpg"])
                   and (not self._has_depth or count in kinds["depth"])):
                count += 1
            if meta.frame_count is not None:
                count = min(count, meta.frame_count)
            log.warning("%s has no ZIP central directory (interrupted recording or cut-short file): "
                        "recovered %d complete frames by scanning local headers (scan stopped at: %s)",
                        self.path, count, archive.scan_note)
        elif meta.frame_count is not None:
            count = meta.frame_count
        else:
            count = max(kinds["jpg"] | kinds["depth"]) + 1
        self._meta, self._num_frames = meta, count
        self._grid = meta.depth_size if self._has_depth else meta.rgb_size
        self._timestamps = self._relative_timestamps(archive, meta, count)

    @staticmethod
    def _relative_timestamps(archive: ZipArchive, meta: R3DMetadata, count: int) -> np.ndarray:
        """Seconds from the first frame: metadata, else the writer's extra field, else index / fps."""
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

    def close(self) -> None:
        with self._lock:
            for pool in list(self._pools):
                pool.shutdown(wait=True, cancel_futures=True)
            self._pools.clear()
            if self._archive is not None:
                self._archive.close()
                self._archive = None

    def _opened(self) -> ZipArchive:
        archive = self._archive
        if archive is None:
            self.open()
            archive = self._archive
        return archive

    # -- what the file offers -----------------------------------------------------------------

    @property
    def metadata(self) -> R3DMetadata:
        self._opened()
        return self._meta

    @property
    def recovered(self) -> bool:
        """True when the file had no central directory and its frames came from a scan."""
        return self._opened().recovered

    @property
    def modes(self) -> frozenset[Mode]:
        self._opened()
        if self._has_depth and self._has_rgb:
            return frozenset(Mode)
        return frozenset({Mode.DEPTH if self._has_depth else Mode.RGB})

    @property
    def fps(self) -> float:
        return self.metadata.fps

    @property
    def num_frames(self) -> int:
        self._opened()
        return self._num_frames

    def intrinsics_at(self, index: int) -> Intrinsics:
        """The camera of frame ``index`` on the delivered grid (depth grid when there is depth)."""
        meta = self.metadata
        return meta.rgb_intrinsics(index).scaled(*self._grid)

    # -- decoding -----------------------------------------------------------------------------

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0), decoded now; IndexError outside ``0..num_frames-1``."""
        archive = self._opened()
        if not 0 <= index < self._num_frames:
            raise IndexError(f"frame {index} is outside 0..{self._num_frames - 1} of {self.path}")
        return self._decode(archive, index)

    def confidence_at(self, index: int) -> np.ndarray | None:
        """(dh, dw) uint8 LiDAR confidence (0 low, 1 medium, 2 high) of frame ``index``, or None."""
        archive = self._opened()
        name = f"rgbd/{index}.conf"
        if name not in archive.members:
            return None
        dw, dh = self._meta.depth_size
        conf = self._lzfse(archive.read(name), dw * dh, index, name, "uint8")
        return conf.reshape(dh, dw)

    def _member(self, archive: ZipArchive, index: int, kind: str) -> bytes:
        name = f"rgbd/{index}.{kind}"
        if name not in archive.members:
            raise CaptureError(f"{self.path}: frame {index}: missing frame member {name!r}")
        return archive.read(name)

    def _lzfse(self, blob: bytes, expected: int, index: int, name: str, what: str) -> np.ndarray:
        try:
            data = r3d_lzfse.decode(blob, expected)
        except r3d_lzfse.LzfseError as exc:
            raise CaptureError(f"{self.path}: frame {index}: {name!r} is corrupt ({exc})") from None
        if len(data) != expected:
            dw, dh = self._meta.depth_size
            got = f"{len(data)} bytes" if len(data) <= expected else f"more than {expected} bytes"
            raise CaptureError(f"{self.path}: frame {index}: {name!r} holds {got}, expected {expected} "
                               f"({dw}x{dh} {what})")
        return data

    def _decode(self, archive: ZipArchive, index: int) -> Frame:
        meta = self._meta
        depth = rgb = None
        if self._has_depth:
            dw, dh = meta.depth_size
            raw = self._lzfse(self._member(archive, index, "depth"), dw * dh * 4, index,
                              f"rgbd/{index}.depth", "float32")
            depth = raw.view(_F32_LE).reshape(dh, dw)
            if depth.dtype != np.float32:  # big-endian host
                depth = depth.astype(np.float32)
            # NaN, inf and negative depth are invalid: 0.
            np.copyto(depth, np.float32(0), where=~((depth > 0) & (depth < np.inf)))
        if self._has_rgb:
            rgb = self._decode_colour(self._member(archive, index, "jpg"), index)
        return Frame(index=index, timestamp=float(self._timestamps[index]),
                     intrinsics=self.intrinsics_at(index), rgb=rgb, depth=depth)

    def _decode_colour(self, blob: bytes, index: int) -> np.ndarray:
        w, h = self._meta.rgb_size
        gw, gh = self._grid
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
            raise CaptureError(f"{self.path}: frame {index}: corrupt JPEG 'rgbd/{index}.jpg'")
        if bgr.shape[:2] != (h // factor, w // factor):
            size = f"{bgr.shape[1] * factor}x{bgr.shape[0] * factor}"
            raise CaptureError(f"{self.path}: frame {index}: colour image 'rgbd/{index}.jpg' is {size}, "
                               f"the metadata says {w}x{h}")
        if bgr.shape[:2] != (gh, gw):
            bgr = cv2.resize(bgr, (gw, gh), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    # -- iteration ----------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Frames 0..num_frames-1; with several workers the next few are decoded ahead."""
        archive = self._opened()
        count = self._num_frames
        if self._workers <= 1:
            for index in range(count):
                yield self._decode(archive, index)
            return
        pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="r3d-decode")
        with self._lock:
            self._pools.add(pool)
        ahead: deque[Future] = deque()
        submitted = 0
        try:
            for _ in range(count):
                while submitted < count and len(ahead) < 2 * self._workers:
                    try:
                        ahead.append(pool.submit(self._decode, archive, submitted))
                    except RuntimeError:  # close() shut the pool down
                        raise CaptureError(f"{self.path} was closed during iteration") from None
                    submitted += 1
                try:
                    frame = ahead.popleft().result()
                except CancelledError:
                    raise CaptureError(f"{self.path} was closed during iteration") from None
                yield frame
        finally:
            for future in ahead:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                self._pools.discard(pool)


def parse_r3d(spec: str) -> R3DSource | None:
    """A source for a path ending in ``.r3d`` or ``.r3d.partial`` (any case), else None.

    Raises CaptureError ``no such file: PATH`` when the file does not exist.
    """
    lower = spec.lower()
    if not lower.endswith((".r3d", ".r3d.partial")):
        return None
    path = Path(spec).expanduser()
    if not path.exists():
        raise CaptureError(f"no such file: {spec}")
    if not path.is_file():
        raise CaptureError(f"not a file: {spec}")
    return R3DSource(path)
