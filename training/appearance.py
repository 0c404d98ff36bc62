"""The linear albedo model (Eq. 2) as a tensor layer, from ``models.render.AlbedoModel``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from models.face_model import REGION_SIZES
from models.render.albedo import AlbedoModel

__all__ = ["AlbedoLayer"]


class AlbedoLayer(nn.Module):
    """Coefficients (B, K) -> per-vertex linear-RGB albedo (B, N, 3) of the first N vertices.

    ``mean + coeffs @ basis`` without the NumPy model's clipping (keeps gradients everywhere);
    N is at most the albedo model's 11,248 head vertices. Non-trainable buffers.
    """

    def __init__(self, albedo: AlbedoModel, num_vertices: int = REGION_SIZES["narrow_face"]):
        super().__init__()
        if num_vertices > albedo.num_vertices:
            raise ValueError(f"the albedo model covers {albedo.num_vertices} vertices, asked for {num_vertices}")
        self.num_vertices = num_vertices
        self.register_buffer("mean", torch.from_numpy(np.ascontiguousarray(albedo.mean[:num_vertices])))
        self.register_buffer("basis", torch.from_numpy(
            np.ascontiguousarray(albedo.basis[:, :num_vertices].reshape(albedo.num_components, -1))))

    @property
    def num_components(self) -> int:
        return self.basis.shape[0]

    def forward(self, coeffs: torch.Tensor) -> torch.Tensor:
        return self.mean + (coeffs @ self.basis).reshape(-1, self.num_vertices, 3)
