"""Recording takes (raw input + results, crash-safe) and reading them back for re-processing.

Files of a take ``NAME``: ``NAME.r3d`` (Record3D-compatible archive of colour, depth,
intrinsics and timestamps; ``NAME.r3d.partial`` while recording or after a crash),
``NAME.results`` (append-only results log, :mod:`app.recording.results_log`) and
``NAME.summary.json`` (counts, written at close).
"""

from app.recording.errors import RecordingError
from app.recording.paths import TakePaths
from app.recording.recorder import Recorder, RecorderStats
from app.recording.results_log import LogHeader, ResultsLog, ResultsLogWriter, read_results_log
from app.recording.summary import TakeSummary
from app.recording.take import Take, TakeSource

__all__ = [
    "LogHeader", "Recorder", "RecorderStats", "RecordingError", "ResultsLog", "ResultsLogWriter",
    "Take", "TakePaths", "TakeSource", "TakeSummary", "read_results_log",
]
