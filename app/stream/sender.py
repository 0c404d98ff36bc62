"""The stream sender: results in on the pipeline thread, datagrams out on its own thread.

:meth:`StreamSender.submit` (the pipeline thread's only cost) puts the result in a bounded
queue and returns: it never blocks and never waits for the network. The ``facefromx-stream``
thread takes results in order, computes the frame's values once
(:func:`models.arkit_values.arkit_values`, the CSV export's numbers), encodes one datagram per
target and sends it on a non-blocking UDP socket. When the sender falls more than
``capacity`` frames behind, the oldest waiting frame is dropped and counted (the queue never
grows); a datagram the kernel cannot take at once is dropped and counted too. UDP needs no
listener: a receiver that is absent or goes away costs nothing, and each target logs its first
send error only (then counts them).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.stream.livelink import LiveLinkEncoder
from app.stream.target import LIVELINK, StreamTarget
from app.stream.vmc import VmcEncoder
from models.arkit_values import arkit_values
from models.face_result import FaceResult
from models.frame import Frame

log = logging.getLogger(__name__)

DEFAULT_SUBJECT = "FaceFromX"
# Frames that may wait for the sender: about 8 s at 30 fps, a quarter second of a 1,000 fps
# replay; each waiting frame holds about 2 kB (pose, expression, landmarks), never the mesh.
DEFAULT_CAPACITY = 256
CLOSE_TIMEOUT_S = 5.0
LATENCY_SAMPLES = 4096


@dataclass
class TargetStats:
    """Per target: datagrams sent, datagrams that failed (receiver gone, buffer full), the
    first error seen (None while all went well)."""

    sent: int = 0
    failed: int = 0
    first_error: str | None = None


def _slim(result: FaceResult) -> tuple:
    """What the streams read of ``result`` (a tuple: a fraction of a microsecond on the pipeline
    thread); waiting frames then hold about 2 kB each, not the mesh."""
    return (result.index, result.timestamp, result.intrinsics, result.rotation, result.translation,
            result.expression, result.landmarks_3d, result.gaze)


def _unslim(fields: tuple) -> FaceResult:
    index, timestamp, intrinsics, rotation, translation, expression, landmarks_3d, gaze = fields
    return FaceResult(index=index, timestamp=timestamp, intrinsics=intrinsics, found=True, rotation=rotation,
                      translation=translation, expression=expression, landmarks_3d=landmarks_3d, gaze=gaze)


class StreamSender:
    """Sends every submitted result that has a face to ``targets``.

    Args:
        targets: parsed targets (:func:`app.stream.target.parse_targets`).
        arkit_matrix: (52, 53) :attr:`FaceModel.arkit_matrix`.
        subject: the Live Link subject name (checked: :class:`StreamError` if unusable).
        fps: the source's frame rate (Live Link frame times); :meth:`set_fps` changes it.
        capacity: frames that may wait for the sender before the oldest is dropped.

    Attributes (read from any thread): :attr:`submitted` (frames with a face handed over),
    :attr:`frames_sent` (frames whose datagrams went out), :attr:`dropped` (frames dropped
    because the sender was ``capacity`` frames behind), :attr:`stats` per target spec,
    :attr:`latency_s` (the last submit-to-sent times, seconds), :attr:`cpu_s` (the sender
    thread's CPU time spent on frames, seconds).
    """

    def __init__(self, targets: Sequence[StreamTarget], arkit_matrix: np.ndarray, *,
                 subject: str = DEFAULT_SUBJECT, fps: float = 30.0, capacity: int = DEFAULT_CAPACITY):
        self.targets = tuple(targets)
        self.fps = float(fps)
        self.capacity = capacity
        self.submitted = 0
        self.frames_sent = 0
        self.dropped = 0
        self.stats = {target.spec: TargetStats() for target in self.targets}
        self.latency_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.cpu_s = 0.0
        self._arkit = np.asarray(arkit_matrix, np.float64)
        self._livelink = LiveLinkEncoder(subject)
        self._vmc = VmcEncoder()
        self._sockets: dict[int, socket.socket] = {}
        for family in {target.family for target in self.targets}:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            self._sockets[family] = sock
        self._queue: deque[tuple[tuple, float, float]] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="facefromx-stream", daemon=True)
        self._thread.start()

    @property
    def subject(self) -> str:
        return self._livelink.subject

    def set_fps(self, fps: float) -> None:
        """The frame rate of the frames submitted from now on (a new source)."""
        with self._condition:
            self.fps = float(fps)

    # -- pipeline thread --------------------------------------------------------------------------

    def submit(self, result: FaceResult) -> None:
        """Queue ``result`` for sending (frames without a face are skipped); never blocks."""
        if not result.found:
            return
        now = time.perf_counter()
        with self._condition:
            if self._closed:
                return
            if len(self._queue) >= self.capacity:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append((_slim(result), self.fps, now))
            self.submitted += 1
            self._condition.notify()

    def sink(self, frame: Frame, result: FaceResult) -> None:
        """A session result sink: :meth:`submit` the result (the frame is not needed)."""
        self.submit(result)

    # -- any thread -------------------------------------------------------------------------------

    def flush(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until every queued frame was sent; False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Send what is queued (up to ``timeout``), stop the thread and close the sockets."""
        with self._condition:
            if self._closed:
                return
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the stream sender did not finish within %.0f s", timeout)
            return
        for sock in self._sockets.values():
            sock.close()

    def __enter__(self) -> StreamSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sender thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._condition:
                self._busy = False
                self._condition.notify_all()
                self._condition.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                fields, fps, submitted_at = self._queue.popleft()
                self._busy = True
            cpu = time.thread_time()
            result = _unslim(fields)
            try:
                self._send(result, fps)
            except Exception:  # a bug here must not end the capture; logged once per frame
                log.exception("could not stream frame %d", result.index)
                continue
            finally:
                self.cpu_s += time.thread_time() - cpu
            self.frames_sent += 1
            self.latency_s.append(time.perf_counter() - submitted_at)

    def encode(self, result: FaceResult, fps: float) -> list[tuple[StreamTarget, bytes]]:
        """The datagram of ``result`` for each target (the values computed once)."""
        values = arkit_values(result, self._arkit)
        packets: dict[str, bytes] = {}
        out = []
        for target in self.targets:
            if target.kind not in packets:
                packets[target.kind] = (self._livelink.encode(values, result.timestamp, fps)
                                        if target.kind == LIVELINK
                                        else self._vmc.encode(values, result.timestamp, result))
            out.append((target, packets[target.kind]))
        return out

    def _send(self, result: FaceResult, fps: float) -> None:
        for target, datagram in self.encode(result, fps):
            stats = self.stats[target.spec]
            try:
                self._sockets[target.family].sendto(datagram, target.address)
            except OSError as exc:
                stats.failed += 1
                if stats.first_error is None:
                    stats.first_error = exc.strerror or str(exc)
                    busy = exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS)
                    log.warning("stream %s: %s (%s); further errors of this target are only counted",
                                target.spec, "the network buffer is full" if busy else "cannot send",
                                stats.first_error)
            else:
                stats.sent += 1
