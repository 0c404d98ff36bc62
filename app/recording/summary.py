"""A take's summary: how many frames were captured, written, processed and dropped."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from app.export.target import give_usual_mode


@dataclass(frozen=True)
class TakeSummary:
    """Counts of one take.

    frames_captured: frames handed to the recorder; frames_written: frames in the ``.r3d``
    archive; frames_dropped: frames not recorded (queue full, or the archive could not be
    written: see ``error``); frames_processed: pipeline results stored; results_dropped:
    results that could not be stored; fps: nominal frame rate; duration_s: seconds between
    the first and last written frame; complete: the take was closed normally (False when the
    counts were rebuilt from the files of an interrupted take); error: the first write error.
    """

    frames_captured: int = 0
    frames_written: int = 0
    frames_dropped: int = 0
    frames_processed: int = 0
    results_dropped: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    complete: bool = False
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TakeSummary:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, path: str | os.PathLike) -> None:
        """Write as JSON through a temporary file and a rename (OSError propagates)."""
        path = Path(path)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            give_usual_mode(temp)  # readable like the take's other files, not mkstemp's 0600
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(self.to_dict(), file, indent=2)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @classmethod
    def read(cls, path: str | os.PathLike) -> TakeSummary:
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))
