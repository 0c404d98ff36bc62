"""Rebuilding a recorded result's mesh from its pose and coefficients, as the pipeline made it.

A results log written without vertices (``Recorder(store_vertices=False)``, about 2 kB per
frame instead of 115 kB) names the decoder graph that made the meshes (its SHA-256, see
:func:`decoder_id`). When the same graph is in ``assets/`` the mesh is rebuilt with the very
operations of the pipeline (``decoder(identity, expression) @ R.T + t`` in float32), so a
re-export matches the live one; otherwise the linear face model is used, with a warning.
"""

from __future__ import annotations

import logging

import numpy as np

from app.config import ASSETS_DIR
from models.errors import FaceFromXError
from models.face_model import FaceModel
from models.face_model.source import sha256_of
from models.face_result import FaceResult
from runtime.branches import Decoder
from runtime.sidecar import Sidecar

log = logging.getLogger(__name__)


def decoder_id(sidecar: Sidecar) -> str:
    """The SHA-256 of a decoder's ONNX graph (from its sidecar when recorded there)."""
    return sidecar.sha256 or sha256_of(sidecar.onnx_path)


class MeshRebuilder:
    """Vertices for results stored without them (face region, camera frame, float32 metres).

    Args:
        decoder: the SHA-256 the results log recorded (empty: the linear face model).
        face_model: the model the take was fitted with.
        where: a name for the warning (the take).
    """

    def __init__(self, decoder: str, face_model: FaceModel, where: str = "the take"):
        self.face_model = face_model
        self.decoder: Decoder | None = None
        if decoder:
            try:
                candidate = Decoder(ASSETS_DIR, face_model)
            except FaceFromXError as exc:
                log.warning("%s: meshes rebuilt with the linear face model (the decoder cannot be "
                            "loaded: %s)", where, exc)
            else:
                if decoder_id(candidate.sidecar) == decoder:
                    self.decoder = candidate
                else:
                    log.warning("%s was recorded with another decoder (%s...); meshes are rebuilt with the "
                                "linear face model, without that decoder's corrective", where, decoder[:12])

    def vertices(self, result: FaceResult) -> np.ndarray:
        """(9409, 3) float32 camera-frame vertices of ``result`` (which has pose and coefficients)."""
        if self.decoder is not None:
            head = self.decoder.vertices(result.identity, result.expression)
            rotation = np.asarray(result.rotation).astype(np.float32)
            translation = np.asarray(result.translation).astype(np.float32)
            return (head @ rotation.T + translation).astype(np.float32)
        head = self.face_model.vertices(result.identity, result.expression, region="face").astype(np.float64)
        return (head @ np.asarray(result.rotation).T + result.translation).astype(np.float32)
