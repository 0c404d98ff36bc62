"""Accuracy figures of a run, computed off the pipeline thread so they do not slow it.

For depth frames: the fit error (mesh to input point cloud, the paper's Table III metric);
for frames with ground truth: the per-vertex error of the narrow face against the true mesh.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from models.face_model import REGION_SIZES
from models.face_result import FaceResult
from models.frame import Frame
from models.metrics import fit_error_mm

_STOP = object()
MAX_QUEUED = 16  # frames waiting to be measured; more make the caller wait (memory stays bounded)


class MetricsWorker:
    """Collects ``fit_error_mm`` and ``gt_error_mm`` (mean per frame) of found faces."""

    def __init__(self) -> None:
        self.fit_error_mm: list[float] = []
        self.gt_error_mm: list[float] = []
        self._queue: queue.Queue = queue.Queue(maxsize=MAX_QUEUED)
        self._thread = threading.Thread(target=self._run, name="facefromx-metrics", daemon=True)
        self._thread.start()

    def add(self, frame: Frame, result: FaceResult) -> None:
        if result.found:
            self._queue.put((frame, result))

    def close(self) -> None:
        """Wait until every queued frame has been measured."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        narrow = REGION_SIZES["narrow_face"]
        while (item := self._queue.get()) is not _STOP:
            frame, result = item
            if frame.depth is not None and result.mode != "rgb":
                distances = fit_error_mm(result.vertices, frame.depth, frame.intrinsics)
                if distances.size:
                    self.fit_error_mm.append(float(distances.mean()))
            if frame.ground_truth is not None:
                error = np.linalg.norm(result.vertices[:narrow] - frame.ground_truth.vertices[:narrow], axis=1)
                self.gt_error_mm.append(float(error.mean() * 1000.0))
