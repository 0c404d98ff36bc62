"""Typed errors. Each carries one line meant for the user; callers never need a traceback."""


class FaceFromXError(Exception):
    """Base of every error the app reports to the user as one line."""


class ModelError(FaceFromXError):
    """The face model or a network's weights are missing, corrupt or mismatched."""


class RenderError(FaceFromXError):
    """No OpenGL context could be created, or a render was asked with bad arguments."""
