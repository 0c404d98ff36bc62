"""Accuracy figures of a run, computed off the pipeline thread so they do not slow it.

For depth frames: the fit error (:func:`models.metrics.face_fit_error_mm`: the visible
vertices of the narrow face to the input point cloud, the paper's Table III metric, as the
contract defines the report's figure); for frames with ground truth: the mean per-vertex
error of the narrow face against the true mesh.

The ground-truth error is a few hundred microseconds and is taken on every found face. The
fit error costs 10-40 ms (a z-buffer and a KD-tree) on the worker thread: frames wait in a
short queue (``backlog``), and a frame that finds it full is not measured (counted in
``fit_skipped``), so a slow measurement never holds frames in memory or the pipeline back;
the figure is then the mean over the frames measured. ``min_interval_s`` measures at most
that often (the window's status bar: a few figures a second are enough, and the cores stay
with the pipeline).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque

import numpy as np

from models.face_model import REGION_SIZES, FaceModel, load_face_model
from models.face_result import FaceResult
from models.frame import Frame
from models.metrics import face_fit_error_mm

log = logging.getLogger(__name__)

_STOP = object()


class MetricsWorker:
    """Collects ``fit_error_mm`` and ``gt_error_mm`` (mean per frame, mm) of found faces.

    Args:
        model: the face model of the results (its narrow-face triangles make the visibility
            z-buffer); loaded from the cache on the worker thread when omitted.
        backlog: frames that may wait for the fit error; more are skipped.
        min_interval_s: measure the fit error at most this often (0: every frame it can).
        keep: keep only the newest ``keep`` figures of each kind (None: all of them).
    """

    def __init__(self, model: FaceModel | None = None, backlog: int = 8, min_interval_s: float = 0.0,
                 keep: int | None = None) -> None:
        self.fit_error_mm: list[float] | deque[float] = [] if keep is None else deque(maxlen=keep)
        self.gt_error_mm: list[float] | deque[float] = [] if keep is None else deque(maxlen=keep)
        self.fit_skipped = 0
        self._model = model
        self._min_interval_s = min_interval_s
        self._next_at = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, backlog))
        self._thread = threading.Thread(target=self._run, name="facefromx-metrics", daemon=True)
        self._thread.start()

    @property
    def latest_fit_mm(self) -> float | None:
        """The newest frame's fit error (mm), None before the first measurement."""
        return self.fit_error_mm[-1] if self.fit_error_mm else None

    def add(self, frame: Frame, result: FaceResult) -> None:
        """Measure ``result`` against ``frame`` (any thread; returns at once)."""
        if not result.found or result.vertices is None:
            return
        if frame.ground_truth is not None:
            narrow = REGION_SIZES["narrow_face"]
            error = np.linalg.norm(result.vertices[:narrow] - frame.ground_truth.vertices[:narrow], axis=1)
            self.gt_error_mm.append(float(error.mean() * 1000.0))
        if frame.depth is None or result.mode == "rgb":
            return
        now = time.monotonic()
        if now < self._next_at:
            return
        try:
            self._queue.put_nowait((frame, result))
            self._next_at = now + self._min_interval_s
        except queue.Full:
            self.fit_skipped += 1

    def close(self) -> None:
        """Wait until every queued frame has been measured."""
        self._queue.put(_STOP)
        self._thread.join()
        if self.fit_skipped:
            log.info("fit error measured on %d frames, %d skipped while the worker was busy",
                     len(self.fit_error_mm), self.fit_skipped)

    def _run(self) -> None:
        model = self._model or load_face_model()
        while (item := self._queue.get()) is not _STOP:
            frame, result = item
            try:
                distances = face_fit_error_mm(model, result.vertices, frame.depth, frame.intrinsics)
            except Exception:  # a metric must never end a run; it is logged
                log.exception("could not measure the fit error of frame %d", result.index)
                continue
            if distances.size:
                self.fit_error_mm.append(float(distances.mean()))
