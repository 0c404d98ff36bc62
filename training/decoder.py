"""The shape decoder D_s (Eq. 1): the ICT linear model plus a learned nonlinear corrective.

``vertices = template + identity @ B_id + expression @ B_exp + corrective(identity, expression)``

over the face model's ``face`` region (9,409 vertices; the ``narrow_face`` region used by the
losses is its first 6,706), in the head frame (metres). The corrective is compact: a small
MLP maps the 153 coefficients to ``rank`` weights of a learned low-rank basis
(rank, V_face, 3). The basis starts at zero, so the decoder starts *exactly* as the
parametric model (the paper initialises its decoder from a parametric model too); the MLP
is randomly initialised so the basis receives gradients from the first step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from models.face_model import REGION_SIZES, FaceModel

__all__ = ["CorrectiveModule", "ShapeDecoder"]

NARROW = REGION_SIZES["narrow_face"]
FACE = REGION_SIZES["face"]


class ShapeDecoder(nn.Module):
    """Coefficients -> head-frame vertices (see the module doc).

    Args:
        model: the face model (its bases become non-trainable buffers).
        rank: size of the corrective basis.
        hidden: width of the corrective MLP.
    """

    def __init__(self, model: FaceModel, rank: int = 32, hidden: int = 128):
        super().__init__()
        n = FACE
        self.num_identity = model.num_identity
        self.num_expression = model.num_expression
        self.register_buffer("template", torch.from_numpy(model.template[:n].reshape(-1).copy()))
        self.register_buffer("identity_basis", torch.from_numpy(
            np.ascontiguousarray(model.identity_basis[:, :n].reshape(model.num_identity, -1))))
        self.register_buffer("expression_basis", torch.from_numpy(
            np.ascontiguousarray(model.expression_basis[:, :n].reshape(model.num_expression, -1))))
        self.register_buffer("landmark_indices", torch.from_numpy(model.landmark_indices.astype(np.int64)))
        self.mlp = nn.Sequential(
            nn.Linear(self.num_identity + self.num_expression, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, rank),
        )
        self.basis = nn.Parameter(torch.zeros(rank, n * 3))

    @property
    def rank(self) -> int:
        return self.basis.shape[0]

    def linear(self, identity: torch.Tensor, expression: torch.Tensor, num_vertices: int = NARROW) -> torch.Tensor:
        """(B, 100), (B, 53) -> (B, num_vertices, 3): the parametric model alone."""
        k = 3 * num_vertices
        flat = self.template[:k] + identity @ self.identity_basis[:, :k] + expression @ self.expression_basis[:, :k]
        return flat.reshape(-1, num_vertices, 3)

    def corrective(self, identity: torch.Tensor, expression: torch.Tensor, num_vertices: int = NARROW
                   ) -> torch.Tensor:
        """(B, num_vertices, 3) learned offsets in metres (zero at initialisation)."""
        weights = self.mlp(torch.cat([identity, expression], dim=1))
        return (weights @ self.basis[:, : 3 * num_vertices]).reshape(-1, num_vertices, 3)

    def forward(self, identity: torch.Tensor, expression: torch.Tensor, num_vertices: int = NARROW) -> torch.Tensor:
        """(B, num_vertices, 3) head-frame vertices in metres: linear model plus corrective."""
        return self.linear(identity, expression, num_vertices) + self.corrective(identity, expression, num_vertices)


class CorrectiveModule(nn.Module):
    """The decoder's corrective alone, over the whole ``face`` region, for export.

    forward(identity (B, 100), expression (B, 53)) -> (B, 9409, 3) offsets in metres, head
    frame; the app adds them to ``FaceModel.vertices(identity, expression, "face")``.
    """

    def __init__(self, decoder: ShapeDecoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, identity: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        return self.decoder.corrective(identity, expression, FACE)
