"""The run's metrics worker holds a bounded number of frames (memory stays flat on long runs)."""

from __future__ import annotations

import threading

import numpy as np

from app import metrics_worker
from models.camera import Intrinsics
from models.face_result import FaceResult
from models.frame import Frame


def test_a_slow_measurement_makes_the_producer_wait(monkeypatch) -> None:
    release = threading.Event()

    def slow_fit_error(vertices, depth, intrinsics):
        release.wait(10)
        return np.ones(3)

    monkeypatch.setattr(metrics_worker, "fit_error_mm", slow_fit_error)
    camera = Intrinsics(fx=500.0, fy=500.0, cx=32.0, cy=24.0, width=64, height=48)
    worker = metrics_worker.MetricsWorker()
    added = []

    def produce() -> None:
        for index in range(200):
            frame = Frame(index=index, timestamp=index / 30, intrinsics=camera, depth=np.ones((48, 64), np.float32))
            worker.add(frame, FaceResult(index=index, timestamp=index / 30, intrinsics=camera, found=True,
                                         vertices=np.zeros((9409, 3), np.float32), mode="depth"))
            added.append(index)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    producer.join(1.0)
    assert producer.is_alive() and len(added) <= metrics_worker.MAX_QUEUED + 2, len(added)
    release.set()
    producer.join(10)
    worker.close()
    assert len(added) == 200 and len(worker.fit_error_mm) == 200
