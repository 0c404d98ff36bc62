"""SIGINT / SIGTERM become one stop request; handlers are restored afterwards."""

from __future__ import annotations

import os
import signal

from app.stop_signals import StopSignals


def test_first_signal_stops_later_ones_only_wait_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    calls = []
    with StopSignals(lambda: calls.append("stop")) as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt while the run finishes
        signal.raise_signal(signal.SIGINT)
    assert calls == ["stop"] and signals.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
