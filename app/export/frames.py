"""Frame alignment shared by every exporter: one export frame per source frame number.

Results arrive in source order. A result whose ``found`` is False is still a frame (its arrays
hold the last good face, or None before the first one). Source frames with no result at all
(frames the pipeline skipped, e.g. in a recorded take) are filled in as not-found frames, so
exported frame numbers stay equal to source frame numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.export.errors import ExportError
from models.camera import Intrinsics
from models.face_result import FaceResult


@dataclass(frozen=True)
class ExportFrame:
    """One source frame as an exporter sees it.

    Attributes:
        index: source frame number; timestamp: seconds (estimated from the frame rate for a
            filled-in frame).
        found: whether a face was found in this very frame.
        result: the pipeline's result for the frame, None for a filled-in frame.
        held: the result whose face to write: ``result`` itself when it has a face, else the
            latest earlier result that had one; None before the first face.
        intrinsics: the camera of the frame (of the previous result for a filled-in frame).
    """

    index: int
    timestamp: float
    found: bool
    result: FaceResult | None
    held: FaceResult | None
    intrinsics: Intrinsics


class FrameAligner:
    """Turns a stream of results into consecutive :class:`ExportFrame` objects."""

    def __init__(self, fps: float):
        self.fps = fps
        self._last: FaceResult | None = None
        self._held: FaceResult | None = None

    @property
    def last_index(self) -> int | None:
        return None if self._last is None else self._last.index

    def push(self, result: FaceResult) -> list[ExportFrame]:
        """The frames up to and including ``result`` (filled-in frames first)."""
        index = int(result.index)
        if not math.isfinite(result.timestamp):
            raise ExportError(f"frame {index}: timestamp is not finite ({result.timestamp!r})")
        frames: list[ExportFrame] = []
        last = self._last
        if last is not None:
            if index <= last.index:
                raise ExportError(f"frame numbers must increase: frame {index} came after frame {last.index}")
            for missing in range(last.index + 1, index):
                stamp = last.timestamp + (missing - last.index) / self.fps
                frames.append(ExportFrame(missing, stamp, False, None, self._held, last.intrinsics))
        if result.has_face:
            self._held = result
        found = bool(result.found) and result.has_face
        frames.append(ExportFrame(index, float(result.timestamp), found, result, self._held, result.intrinsics))
        self._last = result
        return frames
