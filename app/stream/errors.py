"""Typed streaming errors: each carries one line meant for the user (``main.py`` exits 2)."""

from __future__ import annotations

from models.errors import FaceFromXError


class StreamError(FaceFromXError):
    """A ``--stream`` target or ``--stream-subject`` cannot be used (unknown kind, bad port,
    unresolvable host, subject too long for the Live Link packet)."""
