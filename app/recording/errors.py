"""Typed recording errors (one line for the user)."""

from __future__ import annotations

from models.errors import FaceFromXError


class RecordingError(FaceFromXError):
    """A take cannot be started, written or read back."""
