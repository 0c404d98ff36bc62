"""Record3D ``.r3d`` files as a frame source (format: docs/FORMATS.md, :mod:`models.r3d`).

``path/to/take.r3d`` (any case), or ``take.r3d.partial`` for a take whose recording was cut
short. The file format (ZIP container, LZFSE depth, metadata, frame decoding, recovery of files
without a central directory) lives in :mod:`models.r3d` (:class:`~models.r3d.reader.R3DReader`);
this module makes it a :class:`~capture.base.FrameSource`: modes, prefetching decode threads,
a warning when a file was recovered, and :class:`~capture.base.CaptureError` for every problem.

Frames come on the DEPTH grid (``dw`` x ``dh``), colour resized to it; files without depth give
colour frames on the RGB grid. Depth is float32 metres with 0 where invalid.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from models.camera import Intrinsics
from models.frame import Frame
from models.r3d import R3DError, R3DMetadata, R3DReader

log = logging.getLogger(__name__)


def default_workers() -> int:
    """Decode threads for :meth:`R3DSource.frames`: one per usable core, at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


@contextlib.contextmanager
def _as_capture_error() -> Iterator[None]:
    """Re-raise the file format's :class:`R3DError` as the capture layer's one-line error."""
    try:
        yield
    except R3DError as exc:
        raise CaptureError(str(exc)) from None


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
        self._reader: R3DReader | None = None
        self._pools: set[ThreadPoolExecutor] = set()

    # -- opening ------------------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            if self._reader is not None:
                return
            with _as_capture_error():
                reader = R3DReader.open(self.path)
            if reader.recovered:
                log.warning("%s has no ZIP central directory (interrupted recording or cut-short file): "
                            "recovered %d complete frames by scanning local headers (scan stopped at: %s)",
                            self.path, reader.num_frames, reader.scan_note)
            self._reader = reader

    def close(self) -> None:
        with self._lock:
            for pool in list(self._pools):
                pool.shutdown(wait=True, cancel_futures=True)
            self._pools.clear()
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _opened(self) -> R3DReader:
        reader = self._reader
        if reader is None:
            self.open()
            reader = self._reader
        return reader

    # -- what the file offers -----------------------------------------------------------------

    @property
    def metadata(self) -> R3DMetadata:
        return self._opened().metadata

    @property
    def recovered(self) -> bool:
        """True when the file had no central directory and its frames came from a scan."""
        return self._opened().recovered

    @property
    def modes(self) -> frozenset[Mode]:
        reader = self._opened()
        if reader.has_depth and reader.has_rgb:
            return frozenset(Mode)
        return frozenset({Mode.DEPTH if reader.has_depth else Mode.RGB})

    @property
    def fps(self) -> float:
        return self.metadata.fps

    @property
    def num_frames(self) -> int:
        return self._opened().num_frames

    def intrinsics_at(self, index: int) -> Intrinsics:
        """The camera of frame ``index`` on the delivered grid (depth grid when there is depth)."""
        return self._opened().intrinsics_at(index)

    # -- decoding -----------------------------------------------------------------------------

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0), decoded now; IndexError outside ``0..num_frames-1``."""
        reader = self._opened()
        with _as_capture_error():
            return reader.frame_at(index)

    def confidence_at(self, index: int) -> np.ndarray | None:
        """(dh, dw) uint8 LiDAR confidence (0 low, 1 medium, 2 high) of frame ``index``, or None."""
        reader = self._opened()
        with _as_capture_error():
            return reader.confidence_at(index)

    # -- iteration ----------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Frames 0..num_frames-1; with several workers the next few are decoded ahead."""
        reader = self._opened()
        count = reader.num_frames
        if self._workers <= 1:
            for index in range(count):
                with _as_capture_error():
                    frame = reader.frame_at(index)
                yield frame
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
                        ahead.append(pool.submit(reader.frame_at, submitted))
                    except RuntimeError:  # close() shut the pool down
                        raise CaptureError(f"{self.path} was closed during iteration") from None
                    submitted += 1
                try:
                    with _as_capture_error():
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
