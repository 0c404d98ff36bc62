"""Test doubles of the GUI tests: a pipeline that returns a synthetic frame's ground truth."""

from __future__ import annotations

import threading
import time

from app.config import PipelineConfig
from capture.base import CaptureError, FrameSource
from models.face_model import load_face_model
from models.face_result import FaceResult
from models.frame import Frame
from models.mode import Mode


class GroundTruthPipeline:
    """Stands in for :class:`app.pipeline.Pipeline`: the result of a synthetic frame is its
    ground truth, tagged with the mode in effect; every control call is recorded."""

    instances: list[GroundTruthPipeline] = []

    def __init__(self, config: PipelineConfig = PipelineConfig()):  # noqa: B008
        self.config = config
        self.model = load_face_model()
        self.mode = config.mode
        self.mode_calls: list[Mode] = []
        self.modes_processed: list[str] = []
        self.resets = 0
        self.lock = threading.Lock()
        GroundTruthPipeline.instances.append(self)

    def set_mode(self, mode: Mode) -> None:
        self.mode_calls.append(mode)
        self.mode = mode

    def apply(self, config: PipelineConfig) -> None:
        if config.mode is not None and config.mode != self.mode:
            self.set_mode(config.mode)
        self.config = config

    def reset(self) -> None:
        self.resets += 1

    def process(self, frame: Frame) -> FaceResult:
        start = time.perf_counter()
        mode = (self.mode or Mode.RGBD).value
        self.modes_processed.append(mode)
        truth = frame.ground_truth
        if truth is None:
            return FaceResult(index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics,
                              found=False, mode=mode)
        return FaceResult(
            index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics, found=True,
            rotation=truth.rotation, translation=truth.translation, identity=truth.identity,
            expression=truth.expression, vertices=truth.vertices,
            landmarks_3d=truth.vertices[self.model.landmark_indices], landmarks_2d=truth.landmarks_2d,
            mode=mode, stage_ms={"infer": 0.1}, latency_ms=(time.perf_counter() - start) * 1000.0,
        )


class FailingSource(FrameSource):
    """A device that delivers ``good`` frames from ``inner`` and then is 'unplugged'."""

    name = "flaky device"

    def __init__(self, inner: FrameSource, good: int = 3):
        self.inner = inner
        self.good = good

    @property
    def modes(self) -> frozenset[Mode]:
        return self.inner.modes

    @property
    def fps(self) -> float:
        return self.inner.fps

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def frames(self):
        for count, frame in enumerate(self.inner.frames()):
            if count >= self.good:
                raise CaptureError("flaky device: the device was unplugged")
            yield frame
