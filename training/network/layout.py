"""The parameter vector's layout in training: the runtime's :class:`OutputLayout`, and its
split into named torch tensors."""

from __future__ import annotations

import torch

from runtime.layout import OutputLayout

__all__ = ["OutputLayout", "split_params"]


def split_params(layout: OutputLayout, params: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, total) exported parameters -> named tensors; rotation (B, 3, 3), lighting (B, 9, 3)."""
    parts = {name: params[:, s] for name, s in layout.slices().items()}
    parts["rotation"] = parts["rotation"].reshape(-1, 3, 3)
    parts["lighting"] = parts["lighting"].reshape(-1, 9, 3)
    return parts
