"""SIGINT and SIGTERM as a request to finish a run cleanly (docs/CONTRACT.md).

>>> with StopSignals(session.stop) as signals:
...     session.run()            # Ctrl-C ends the source; the run then finishes as usual
>>> signals.received             # signal.SIGINT, signal.SIGTERM or None

The first signal calls ``on_stop`` (which must only ask threads to end, never block) and is
remembered; later ones only log that the run is still finishing, so that a second Ctrl-C does
not throw away exports half-way through their completion. Handlers are installed only on the
main thread (Python delivers signals there) and restored on exit.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Turns SIGINT / SIGTERM into one call of ``on_stop`` while the context is active."""

    def __init__(self, on_stop: Callable[[], None] | None = None):
        self.on_stop = on_stop
        self.received: signal.Signals | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            log.warning("still finishing the run after %s (exports, take and report); please wait",
                        self.received.name)
            return
        self.received = signal.Signals(signum)
        log.warning("%s: stopping; finishing the take, the exports and the report", self.received.name)
        if self.on_stop is not None:
            self.on_stop()

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
