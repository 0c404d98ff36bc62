"""The ICT-FaceKit Light face model as arrays: template, bases, regions, landmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from models.face_model.arkit import ARKIT_NAMES, arkit_mapping

# Vertex counts of the nested regions (each is a prefix of the vertex array).
REGION_SIZES: dict[str, int] = {
    "narrow_face": 6706,  # fitting and losses
    "face": 9409,  # display and export
    "head": 11248,  # face plus head and neck: the skin
    # every surface a camera sees, for synthetic RGB-D: skin, mouth interior, teeth and
    # eyeballs (the lash, eye-occlusion, eye-blend and lacrimal layers are left out)
    "visible": 24591,
    "full": 26719,  # everything, eyes, teeth and lashes included
}


@dataclass(frozen=True)
class Region:
    """A prefix ``[0:num_vertices]`` of the model's vertices and the triangles inside it.

    triangles: (T, 3) int32 vertex indices; triangle_uvs: (T, 3) int32 indices into
    :attr:`FaceModel.uvs`, corner for corner.
    """

    name: str
    num_vertices: int
    triangles: np.ndarray
    triangle_uvs: np.ndarray


@dataclass(frozen=True, eq=False)
class FaceModel:
    """ICT-FaceKit Light in metres, in the head frame (x to the subject's left, y up, z out).

    Attributes:
        template: (V, 3) float32 neutral mean shape, V = 26,719.
        identity_basis: (100, V, 3) float32 offsets per unit identity coefficient (the modes
            are scaled by their standard deviation, so coefficients are roughly N(0, 1)).
        expression_basis: (53, V, 3) float32 offsets per unit expression weight (0..1).
        expression_names: the 53 ICT expression names, ARKit style (``eyeBlink_L``).
        landmark_indices: (68,) int32 vertex indices of the Multi-PIE 68 landmarks.
        uvs: (U, 2) float32 texture coordinates.
        triangles: (T, 3) int32 all triangles; triangle_uvs: (T, 3) int32 their UV indices.
        source: a short description of where the model was built from.
    """

    template: np.ndarray
    identity_basis: np.ndarray
    expression_basis: np.ndarray
    expression_names: tuple[str, ...]
    landmark_indices: np.ndarray
    uvs: np.ndarray
    triangles: np.ndarray
    triangle_uvs: np.ndarray
    source: str = ""
    _regions: dict[str, Region] = field(default_factory=dict, repr=False)

    @property
    def num_vertices(self) -> int:
        return self.template.shape[0]

    @property
    def num_identity(self) -> int:
        return self.identity_basis.shape[0]

    @property
    def num_expression(self) -> int:
        return self.expression_basis.shape[0]

    def region(self, name: str) -> Region:
        """The named region: ``narrow_face``, ``face``, ``head``, ``visible`` or ``full``."""
        if name not in REGION_SIZES:
            raise KeyError(f"unknown region {name!r}; known: {', '.join(REGION_SIZES)}")
        if name not in self._regions:
            n = REGION_SIZES[name]
            inside = np.all(self.triangles < n, axis=1)
            self._regions[name] = Region(
                name, n, np.ascontiguousarray(self.triangles[inside]),
                np.ascontiguousarray(self.triangle_uvs[inside]),
            )
        return self._regions[name]

    def vertices(
        self,
        identity: np.ndarray | None = None,
        expression: np.ndarray | None = None,
        region: str = "face",
    ) -> np.ndarray:
        """Head-frame vertices (N, 3) float32 in metres of ``region``.

        identity: (100,) or fewer leading coefficients; expression: (53,) weights.
        """
        n = REGION_SIZES[region]
        out = self.template[:n].copy()
        if identity is not None:
            identity = np.asarray(identity, dtype=np.float32)
            k = identity.shape[0]
            out += np.tensordot(identity, self.identity_basis[:k, :n], axes=1)
        if expression is not None:
            expression = np.asarray(expression, dtype=np.float32)
            out += np.tensordot(expression, self.expression_basis[:, :n], axes=1)
        return out

    def landmarks(self, vertices: np.ndarray) -> np.ndarray:
        """The 68 landmark points (68, 3) of a vertex array of any region."""
        return vertices[self.landmark_indices]

    @cached_property
    def arkit_matrix(self) -> np.ndarray:
        """(52, 53) float32: ``arkit_weights = arkit_matrix @ expression``."""
        return arkit_mapping(self.expression_names)

    def to_arkit(self, expression: np.ndarray) -> dict[str, float]:
        """ARKit name -> weight for one (53,) expression vector."""
        weights = self.arkit_matrix @ np.asarray(expression, dtype=np.float32)
        return dict(zip(ARKIT_NAMES, weights.tolist(), strict=True))
