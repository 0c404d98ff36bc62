"""Fixtures shared by every test tier."""

from __future__ import annotations

import pytest

from models.face_model import FaceModel, load_face_model


@pytest.fixture(scope="session")
def face_model() -> FaceModel:
    """The real ICT-FaceKit Light model (built into the user cache on first use)."""
    return load_face_model()
