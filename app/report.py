"""The run report of ``--report REPORT.json`` (docs/CONTRACT.md)."""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.export.target import give_usual_mode
from models.errors import FaceFromXError


class ReportError(FaceFromXError):
    """The report could not be written."""


def summary(values: list[float]) -> dict[str, float]:
    """Median and 95th percentile of a list of milliseconds, rounded to 0.01 ms."""
    array = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(array)), 2), "p95": round(float(np.percentile(array, 95)), 2)}


@dataclass
class RunReport:
    """Accumulates what a run measured; :meth:`to_dict` gives the contract's JSON object.

    Times are recorded in milliseconds per frame and per stage; ``wall_s`` is the run's
    duration in seconds from the first frame requested to the last result.
    """

    source: str
    mode: str
    frames: int = 0
    faces_found: int | None = None
    wall_s: float = 0.0
    dropped_frames: int = 0
    latency_ms: list[float] = field(default_factory=list)
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    fit_error_mm: list[float] = field(default_factory=list)
    gt_error_mm: list[float] = field(default_factory=list)
    missing_frames: list[int] = field(default_factory=list)  # source frame indices without a face
    interrupted: signal.Signals | None = None  # the signal that ended the run early (SIGINT, SIGTERM)

    def add_stage(self, stage: str, milliseconds: float) -> None:
        self.stage_ms[stage].append(milliseconds)

    def to_dict(self) -> dict:
        report: dict = {"source": self.source, "mode": self.mode, "frames": self.frames}
        if self.faces_found is not None:
            report["faces_found"] = self.faces_found
        report["fps"] = round(self.frames / self.wall_s, 2) if self.wall_s > 0 else 0.0
        if self.latency_ms:
            report["latency_ms"] = summary(self.latency_ms)
        report["stage_ms"] = {stage: round(float(np.median(v)), 2) for stage, v in self.stage_ms.items() if v}
        for key, errors in (("fit_error_mm", self.fit_error_mm), ("gt_error_mm", self.gt_error_mm)):
            if errors:
                report[key] = {"mean": round(float(np.mean(errors)), 3),
                               "median": round(float(np.median(errors)), 3)}
        report["dropped_frames"] = self.dropped_frames
        report["missing_frames"] = list(self.missing_frames)
        if self.interrupted is not None:
            report["interrupted"] = self.interrupted.name
        return report

    def write(self, path: Path) -> None:
        """Write the JSON atomically; an unwritable path raises :class:`ReportError`."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            give_usual_mode(tmp)  # readable like every other output, not mkstemp's 0600
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_dict(), f, indent=2)
                f.write("\n")
            os.replace(tmp, path)
        except OSError as exc:
            raise ReportError(f"cannot write the report {path}: {exc.strerror or exc}") from None
