"""Converting a verified ``FaceXModel/`` folder into the arrays of :class:`FaceModel`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from models.errors import ModelError
from models.face_model.obj_reader import read_obj, read_positions

log = logging.getLogger(__name__)

CENTIMETRES_TO_METRES = 0.01
NUM_IDENTITY = 100


def convert_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read the neutral mesh, the 100 identity modes and the 53 expressions of ``folder``.

    Returns the arrays named as :class:`FaceModel`'s fields (``expression_names`` as a
    unicode array). Positions are converted from centimetres to metres; bases are stored as
    offsets from the neutral mesh.
    """
    try:
        indices = json.loads((folder / "vertex_indices.json").read_text())
        expression_names = list(indices["expressions"])
        landmarks = np.asarray(indices["idx_to_landmark_verts"], dtype=np.int32)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read vertex_indices.json in {folder}: {exc}") from None

    neutral = read_obj(folder / "generic_neutral_mesh.obj")
    template = neutral.positions

    def offsets(names: list[str]) -> np.ndarray:
        basis = np.empty((len(names), *template.shape), dtype=np.float32)
        for i, name in enumerate(names):
            positions = read_positions(folder / f"{name}.obj")
            if positions.shape != template.shape:
                raise ModelError(f"{name}.obj has {len(positions)} vertices, expected {len(template)}")
            basis[i] = (positions - template) * CENTIMETRES_TO_METRES
        return basis

    log.info("converting %d identity modes and %d expressions", NUM_IDENTITY, len(expression_names))
    identity_basis = offsets([f"identity{i:03d}" for i in range(NUM_IDENTITY)])
    expression_basis = offsets(expression_names)
    return {
        "template": (template * CENTIMETRES_TO_METRES).astype(np.float32),
        "identity_basis": identity_basis,
        "expression_basis": expression_basis,
        "expression_names": np.asarray(expression_names),
        "landmark_indices": landmarks,
        "uvs": neutral.uvs.astype(np.float32),
        "triangles": neutral.triangles.astype(np.int32),
        "triangle_uvs": neutral.triangle_uvs.astype(np.int32),
    }
