"""Direct supervision on synthetic data, the cross-domain term Eq. 9, and the regularisers.

All functions return per-sample (B,) terms; the objective masks and averages them.
"""

from __future__ import annotations

import torch

__all__ = [
    "cross_domain_loss",
    "l21",
    "parameter_losses",
    "regularizers",
]


def l21(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """(B,) mean over points of the l2 distance between (B, N, 3) point sets (metres)."""
    return torch.sqrt(((a - b) ** 2).sum(-1) + eps).mean(1)


def parameter_losses(
    predicted: dict[str, torch.Tensor],
    target: dict[str, torch.Tensor],
    translation_weights: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Per-sample parameter errors.

    Args:
        predicted, target: ``identity`` (B, 100), ``expression`` (B, 53), ``rotation``
            (B, 3, 3), ``translation`` (B, 3) *normalised* (network units), ``albedo`` (B, K),
            ``lighting`` (B, 9, 3). Missing target keys give no term.
        translation_weights: (3,) per-axis weights of the translation error.

    Returns:
        name -> (B,): identity, albedo, lighting: mean squared error; expression: mean absolute
        error; rotation: squared Frobenius distance; translation: weighted absolute error.
    """
    out: dict[str, torch.Tensor] = {}
    if "identity" in target:
        out["identity"] = ((predicted["identity"] - target["identity"]) ** 2).mean(1)
    if "expression" in target:
        out["expression"] = (predicted["expression"] - target["expression"]).abs().mean(1)
    if "rotation" in target:
        out["rotation"] = ((predicted["rotation"] - target["rotation"]) ** 2).sum((1, 2))
    if "translation" in target:
        out["translation"] = ((predicted["translation"] - target["translation"]).abs() * translation_weights).sum(1)
    if "albedo" in target:
        out["albedo"] = ((predicted["albedo"] - target["albedo"]) ** 2).mean(1)
    if "lighting" in target:
        out["lighting"] = ((predicted["lighting"] - target["lighting"]) ** 2).mean((1, 2))
    return out


def cross_domain_loss(rgb_posed: torch.Tensor, rgbd_posed: torch.Tensor) -> torch.Tensor:
    """Eq. 9: (B,) l2,1 distance (metres) from the RGB branch's mesh to the RGB-D branch's mesh
    on the same RGB-D sample; the RGB-D mesh is the (stop-gradient) target."""
    return l21(rgb_posed, rgbd_posed.detach())


def regularizers(predicted: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """(B,) coefficient priors: identity and albedo mean squares (their priors are N(0, 1)),
    expression mean (sparsity; weights are >= 0)."""
    return {
        "reg_identity": (predicted["identity"] ** 2).mean(1),
        "reg_expression": predicted["expression"].mean(1),
        "reg_albedo": (predicted["albedo"] ** 2).mean(1),
    }
