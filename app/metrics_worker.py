"""Accuracy figures of a run, taken so that they do not slow the pipeline.

Two figures (millimetres, one per frame): the fit error of depth frames
(:func:`models.metrics.face_fit_error_mm`: the visible vertices of the narrow face to the
input point cloud, the paper's Table III metric, as the contract defines the report's
figure) and, for frames with ground truth, the mean per-vertex error of the narrow face
against the true mesh.

The ground-truth error costs a few hundred microseconds and is taken on every found face.
The fit error costs 10-40 ms (a z-buffer and a KD-tree), as much as the pipeline's own work
on a frame; measured beside the pipeline, on the two cores we target, it slowed inference
and refinement several times (the threads compete for the cores and for the GIL). So:

- :class:`MetricsWorker` (the headless report) keeps an evenly spaced sample of at most
  ``sample`` depth frames over the run (every frame of a short run; the stride doubles
  whenever the sample is full) and measures them in :meth:`MetricsWorker.close`, after the
  last frame: the report's fit error is the mean and median over that sample.
- :class:`LiveFitError` (the window's status bar) measures the newest frame on its own
  thread at most every ``interval_s`` and keeps the last few figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from models.face_model import REGION_SIZES, FaceModel, load_face_model
from models.face_result import FaceResult
from models.frame import Frame
from models.metrics import face_fit_error_mm, vertex_error_mm

log = logging.getLogger(__name__)

DEFAULT_SAMPLE = 64


def gt_error_mm(frame: Frame, result: FaceResult) -> float | None:
    """Mean distance (mm) of the narrow face to the true mesh; None without ground truth."""
    if frame.ground_truth is None or result.vertices is None:
        return None
    narrow = REGION_SIZES["narrow_face"]
    return float(vertex_error_mm(result.vertices[:narrow], frame.ground_truth.vertices[:narrow]).mean())


def measurable(frame: Frame, result: FaceResult) -> bool:
    """A found face of a depth mode, on a frame with depth: it has a fit error."""
    return (result.found and result.vertices is not None and frame.depth is not None
            and result.mode != "rgb" and len(result.vertices) >= REGION_SIZES["narrow_face"])


def fit_error_of(model: FaceModel, frame: Frame, result: FaceResult) -> float | None:
    """The frame's fit error (mean over its visible narrow-face vertices, mm); None when no
    vertex is visible on valid depth."""
    distances = face_fit_error_mm(model, result.vertices, frame.depth, frame.intrinsics)
    return float(distances.mean()) if distances.size else None


class MetricsWorker:
    """Collects ``gt_error_mm`` of every found face and ``fit_error_mm`` of an evenly spaced
    sample of depth frames (measured in :meth:`close`).

    Args:
        model: the face model of the results (its narrow-face triangles make the visibility
            z-buffer); loaded from the cache in :meth:`close` when omitted.
        sample: most depth frames kept for the fit error (their depth and narrow face only).
    """

    def __init__(self, model: FaceModel | None = None, sample: int = DEFAULT_SAMPLE) -> None:
        if sample < 1:
            raise ValueError(f"sample must be at least 1, got {sample}")
        self.fit_error_mm: list[float] = []
        self.gt_error_mm: list[float] = []
        self.measurable_frames = 0
        self._model = model
        self._sample = sample
        self._stride = 1
        self._kept: list[tuple[int, Frame, FaceResult]] = []

    def add(self, frame: Frame, result: FaceResult) -> None:
        """Take ``result``'s figures (any one thread; cheap: the fit error waits for close)."""
        if not result.found:
            return
        gt = gt_error_mm(frame, result)
        if gt is not None:
            self.gt_error_mm.append(gt)
        if not measurable(frame, result):
            return
        count = self.measurable_frames
        self.measurable_frames += 1
        if count % self._stride:
            return
        narrow = REGION_SIZES["narrow_face"]
        kept = Frame(index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics, depth=frame.depth)
        self._kept.append((count, kept, FaceResult(index=result.index, timestamp=result.timestamp,
                                                    intrinsics=result.intrinsics, found=True, mode=result.mode,
                                                    vertices=result.vertices[:narrow])))
        if len(self._kept) > self._sample:  # full: keep every other one, and from now on
            self._stride *= 2
            self._kept = [item for item in self._kept if item[0] % self._stride == 0]

    def close(self) -> None:
        """Measure the fit error of the kept frames (in the calling thread)."""
        if not self._kept:
            return
        model = self._model or load_face_model()
        begin = time.perf_counter()
        for _, frame, result in self._kept:
            figure = fit_error_of(model, frame, result)
            if figure is not None:
                self.fit_error_mm.append(figure)
        log.info("fit error measured on %d of %d depth frames in %.1f s", len(self._kept),
                 self.measurable_frames, time.perf_counter() - begin)
        self._kept = []


class LiveFitError:
    """The newest frames' fit error for a display, measured on a thread of its own.

    :meth:`offer` hands it a frame and its result (newest wins; the pipeline never waits);
    the thread measures at most one every ``interval_s`` seconds, and :attr:`figures` holds
    the last ``keep`` figures (mm).
    """

    def __init__(self, model: FaceModel | None = None, interval_s: float = 0.25, keep: int = 8) -> None:
        self.figures: deque[float] = deque(maxlen=keep)
        self._model = model
        self._interval_s = interval_s
        self._cond = threading.Condition()
        self._pending: tuple[Frame, FaceResult] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="facefromx-metrics", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame, result: FaceResult) -> None:
        if not measurable(frame, result):
            return
        with self._cond:
            self._pending = (frame, result)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        model = self._model or load_face_model()
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                (frame, result), self._pending = self._pending, None
            try:
                figure = fit_error_of(model, frame, result)
            except Exception:  # a metric must never end a session; it is logged
                log.exception("could not measure the fit error of frame %d", result.index)
                figure = None
            if figure is not None:
                self.figures.append(figure)
            next_at = time.monotonic() + self._interval_s
            with self._cond:
                while not self._closed and (remaining := next_at - time.monotonic()) > 0:
                    self._cond.wait(remaining)
