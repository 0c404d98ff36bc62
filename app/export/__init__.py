"""Exporters: OBJ sequences, Alembic, Live Link Face CSV, glTF rigs and JSON Lines (docs/CONTRACT.md).

>>> from app.export import exporter_for
>>> exporter_for("take.abc").export(results, fps=30.0, face_model=model, space="gl")

One module per format; shared helpers: :mod:`~app.export.base` (sessions, progress,
cancellation), :mod:`~app.export.frames` (frame alignment), :mod:`~app.export.space`
(``gl`` / ``opencv``), :mod:`~app.export.mesh` (topology, UVs, normals) and
:mod:`~app.export.target` (write to a temporary name, rename on success).
"""

from app.export.alembic import AlembicExporter, FilmBack
from app.export.base import CancelFlag, Exporter, ExportSession, ProgressCallback, is_cancelled
from app.export.dispatch import FILE_FORMATS, export, exporter_for, is_sequence_path
from app.export.errors import ExportCancelled, ExportError, UnknownExportFormatError
from app.export.frames import ExportFrame, FrameAligner
from app.export.gltf import GltfExporter
from app.export.jsonl import JsonlExporter
from app.export.livelink_csv import LiveLinkCsvExporter
from app.export.obj import ObjSequenceExporter
from app.export.space import SPACES, Space

__all__ = [
    "FILE_FORMATS", "SPACES", "AlembicExporter", "CancelFlag", "ExportCancelled", "ExportError",
    "ExportFrame", "ExportSession", "Exporter", "FilmBack", "FrameAligner", "GltfExporter", "JsonlExporter",
    "LiveLinkCsvExporter", "ObjSequenceExporter", "ProgressCallback", "Space",
    "UnknownExportFormatError", "export", "exporter_for", "is_cancelled", "is_sequence_path",
]
