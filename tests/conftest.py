"""Fixtures shared by every test tier."""

from __future__ import annotations

import os

# Small matrix products (depth refinement) run far slower when the BLAS spreads them over
# busy cores; the app pins it the same way (main.py). Must happen before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest

from benchmarks.real_portrait import load_portrait
from models.face_model import FaceModel, load_face_model
from models.frame import Frame


@pytest.fixture(scope="session")
def face_model() -> FaceModel:
    """The real ICT-FaceKit Light model (built into the user cache on first use)."""
    return load_face_model()


@pytest.fixture(scope="session")
def real_portrait() -> Frame:
    """The shared real TrueDepth portrait (:mod:`benchmarks.real_portrait`); skips the test
    when the shared data is not beside the checkout."""
    try:
        return load_portrait()
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
