"""The continuous 6D rotation representation (two matrix columns, Gram-Schmidt)."""

from __future__ import annotations

import torch

__all__ = ["matrix_to_six_d", "six_d_to_matrix"]


def six_d_to_matrix(six_d: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(B, 6) -> (B, 3, 3) rotation matrices whose first two columns are the orthonormalised inputs.

    Only elementwise operations and sums, so it exports to ONNX as plain arithmetic.
    """
    a1, a2 = six_d[:, 0:3], six_d[:, 3:6]
    b1 = a1 / torch.sqrt((a1 * a1).sum(dim=1, keepdim=True) + eps)
    a2 = a2 - (b1 * a2).sum(dim=1, keepdim=True) * b1
    b2 = a2 / torch.sqrt((a2 * a2).sum(dim=1, keepdim=True) + eps)
    b3 = torch.stack([
        b1[:, 1] * b2[:, 2] - b1[:, 2] * b2[:, 1],
        b1[:, 2] * b2[:, 0] - b1[:, 0] * b2[:, 2],
        b1[:, 0] * b2[:, 1] - b1[:, 1] * b2[:, 0],
    ], dim=1)
    return torch.stack([b1, b2, b3], dim=2)


def matrix_to_six_d(matrix: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) -> (B, 6): the first two columns."""
    return torch.cat([matrix[:, :, 0], matrix[:, :, 1]], dim=1)
