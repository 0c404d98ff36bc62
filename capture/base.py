"""What every frame source offers: modes, frame rate, context management and iteration."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from models.errors import FaceFromXError
from models.frame import Frame
from models.mode import MODE_PREFERENCE, Mode, richest_mode


class CaptureError(FaceFromXError):
    """A source cannot be opened or stopped delivering frames; the message is one line."""


@dataclass(frozen=True)
class DeviceInfo:
    """A connected device the user can pick: ``spec`` opens it through the registry.

    kind: ``record3d`` or ``realsense``; spec: e.g. ``record3d:0`` or ``realsense:123456789``;
    label: what the GUI shows (model name, serial).
    """

    kind: str
    spec: str
    label: str




class FrameSource(abc.ABC):
    """A stream of frames, used as a context manager and iterated for frames.

    >>> with open_source("synthetic") as source:
    ...     for frame in source: ...

    Subclasses set :attr:`name` and implement :meth:`modes`, :attr:`fps` and :meth:`frames`;
    they override :meth:`open` and :meth:`close` when they hold a device or a file.
    """

    name: str = "source"

    @property
    @abc.abstractmethod
    def modes(self) -> frozenset[Mode]:
        """The input modes this source can serve."""

    @property
    @abc.abstractmethod
    def fps(self) -> float:
        """Native frame rate in frames per second."""

    @property
    def num_frames(self) -> int | None:
        """Frame count of a recording; None for live or endless sources."""
        return None

    @property
    def default_mode(self) -> Mode:
        """The richest mode the source offers."""
        return richest_mode(self.modes)

    def check_mode(self, mode: Mode) -> None:
        """Raise :class:`CaptureError` if this source cannot serve ``mode``."""
        if mode not in self.modes:
            offered = ", ".join(m.value for m in MODE_PREFERENCE if m in self.modes)
            raise CaptureError(f"{self.name} cannot serve mode {mode.value!r} (it offers {offered})")

    def open(self) -> None:  # noqa: B027 (a no-op default)
        """Acquire the device or file. Called by ``__enter__``."""

    def close(self) -> None:  # noqa: B027 (a no-op default)
        """Release the device or file; safe to call twice. Called by ``__exit__``."""

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in order until the source ends (or forever for endless sources)."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
