"""The error type of training's data sources."""

from models.errors import FaceFromXError

__all__ = ["DataError"]


class DataError(FaceFromXError):
    """A data source is misconfigured, or one of its files cannot be read; one line naming the
    file and the problem."""
