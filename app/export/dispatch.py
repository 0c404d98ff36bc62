"""Choosing the exporter from the path, as ``--export PATH`` does (docs/CONTRACT.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from app.export.alembic import AlembicExporter
from app.export.base import CancelFlag, Exporter, ProgressCallback
from app.export.errors import UnknownExportFormatError
from app.export.gltf import GltfExporter
from app.export.jsonl import JsonlExporter
from app.export.livelink_csv import LiveLinkCsvExporter
from app.export.obj import ObjSequenceExporter
from app.export.space import Space
from models.face_model import FaceModel
from models.face_result import FaceResult

# Known file extensions (lower case) and the exporter of each; a folder is an OBJ sequence.
FILE_FORMATS: dict[str, type[Exporter]] = {
    ".abc": AlembicExporter,
    ".csv": LiveLinkCsvExporter,
    ".glb": GltfExporter,
    ".gltf": GltfExporter,
    ".jsonl": JsonlExporter,
}


def is_sequence_path(path: str | os.PathLike) -> bool:
    """True for an OBJ sequence target: an existing folder, a path ending in a separator, or a
    path without an extension."""
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return True
    return Path(text).suffix == ""


def exporter_for(path: str | os.PathLike, *, bake_pose: bool = False) -> Exporter:
    """The exporter for ``path``: ``NAME.abc``, ``NAME.csv``, ``NAME.glb``/``.gltf``, ``NAME.jsonl``, or a folder.

    ``bake_pose`` applies to Alembic (camera-frame vertices under an identity transform).
    Raises :class:`UnknownExportFormatError` (one line) for any other extension.
    """
    text = os.fspath(path)
    if is_sequence_path(text):
        return ObjSequenceExporter(text)
    suffix = Path(text).suffix.lower()
    exporter = FILE_FORMATS.get(suffix)
    if exporter is None:
        raise UnknownExportFormatError(
            f"cannot export to {text}: unknown format {suffix!r}; use NAME.abc (Alembic), NAME.csv "
            f"(Live Link Face), NAME.glb or NAME.gltf (glTF rig), NAME.jsonl (JSON lines) or a folder ending in '/' (OBJ sequence)")
    if exporter is AlembicExporter:
        return AlembicExporter(text, bake_pose=bake_pose)
    return exporter(text)


def export(path: str | os.PathLike, results: Iterable[FaceResult], *, fps: float, face_model: FaceModel,
           space: Space = "gl", progress: ProgressCallback | None = None, cancel: CancelFlag = None,
           total: int | None = None, bake_pose: bool = False) -> Path:
    """``exporter_for(path).export(results, ...)``; returns the written path."""
    return exporter_for(path, bake_pose=bake_pose).export(
        results, fps=fps, face_model=face_model, space=space, progress=progress, cancel=cancel, total=total)
