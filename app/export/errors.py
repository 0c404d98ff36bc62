"""Typed export errors: each carries one line meant for the user."""

from __future__ import annotations

from models.errors import FaceFromXError


class ExportError(FaceFromXError):
    """An export could not be written (bad path, unwritable folder, full disk, bad data)."""


class UnknownExportFormatError(ExportError):
    """The export path names no known format (``.abc``, ``.csv``, ``.jsonl`` or a folder)."""


class ExportCancelled(ExportError):
    """The user cancelled the export; nothing was left under the final name."""
