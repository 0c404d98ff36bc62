"""The two-thread session: newest frame wins for display, taps see every frame, errors end it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from app.session import Session
from capture.base import CaptureError, FrameSource, Mode
from models.camera import Intrinsics
from models.face_result import FaceResult
from models.frame import Frame

CAMERA = Intrinsics(fx=50.0, fy=50.0, cx=15.5, cy=11.5, width=32, height=24)


class CountingSource(FrameSource):
    """``count`` tiny frames as fast as possible (None: forever); optionally fails after ``fail_after``."""

    name = "counting"

    def __init__(self, count: int | None, fail_after: int | None = None):
        self.count, self.fail_after = count, fail_after
        self.opened = self.closed = False

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset({Mode.DEPTH})

    @property
    def fps(self) -> float:
        return 1000.0

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    def frames(self) -> Iterator[Frame]:
        index = 0
        while self.count is None or index < self.count:
            if self.fail_after is not None and index == self.fail_after:
                raise CaptureError("device unplugged")
            yield Frame(index=index, timestamp=index / 1000, intrinsics=CAMERA,
                        depth=np.full((24, 32), 0.5, np.float32))
            index += 1


def slow_process(frame: Frame) -> FaceResult:
    time.sleep(0.002)
    return FaceResult(index=frame.index, timestamp=frame.timestamp, intrinsics=frame.intrinsics, found=False)


def test_live_display_drops_stale_frames_but_taps_see_every_frame() -> None:
    source = CountingSource(300)
    session = Session(source, slow_process, drop_stale=True)
    tapped, results = [], []
    session.frame_taps.append(lambda f: tapped.append(f.index))
    session.result_sinks.append(lambda f, r: results.append((f.index, r.index)))
    stats = session.run()
    assert tapped == list(range(300))
    assert stats.captured == 300 and stats.processed == len(results)
    assert stats.dropped > 0 and stats.processed + stats.dropped == 300
    assert all(f == r for f, r in results), "each result comes with its own frame"
    results = [r for _, r in results]
    assert results == sorted(results) and results[-1] == 299, "the newest frame is always processed"
    assert source.opened and source.closed


def test_offline_runs_process_every_frame() -> None:
    session = Session(CountingSource(100), slow_process, drop_stale=False)
    results = []
    session.result_sinks.append(lambda f, r: results.append((f.index, r.index)))
    stats = session.run()
    assert results == [(i, i) for i in range(100)] and stats.dropped == 0


def test_a_source_error_ends_the_session_with_its_message() -> None:
    source = CountingSource(None, fail_after=20)
    session = Session(source, slow_process, drop_stale=False)
    errors = []
    session.on_error = errors.append
    stats = session.run()
    assert [str(e) for e in errors] == ["device unplugged"]
    assert stats.captured == 20 and source.closed


def test_stop_ends_an_endless_source() -> None:
    source = CountingSource(None)
    session = Session(source, slow_process)
    session.start()
    time.sleep(0.1)
    session.stop()
    session.join(timeout=5)
    assert not session.running and source.closed


def test_max_frames() -> None:
    assert Session(CountingSource(None), slow_process, drop_stale=False, max_frames=7).run().processed == 7


def test_a_bug_in_the_pipeline_ends_the_session_instead_of_hanging_it() -> None:
    def broken(frame: Frame) -> FaceResult:
        raise TypeError("an unexpected bug")

    session = Session(CountingSource(None), broken, drop_stale=False)
    errors = []
    session.on_error = errors.append
    session.start()
    session.join(timeout=10)
    assert not session.running
    assert "internal error in the pipeline: TypeError: an unexpected bug" in str(errors[0])
