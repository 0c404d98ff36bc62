"""Rolling measurements for the status bar and the plots (no Qt)."""

from __future__ import annotations

from collections import deque

import numpy as np


class RateMeter:
    """Events per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 1.0):
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        """Events per second between the first and last event of the window (0 when idle)."""
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()


class Series:
    """A fixed-length history of (x, y) samples for a live plot."""

    def __init__(self, length: int = 300):
        self.x: deque[float] = deque(maxlen=length)
        self.y: deque[float] = deque(maxlen=length)

    def add(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.fromiter(self.x, float, len(self.x)), np.fromiter(self.y, float, len(self.y))

    def __len__(self) -> int:
        return len(self.y)
