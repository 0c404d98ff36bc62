"""SH shading (the paper's Eq. 4) on tensors, with the constants of ``models.render.sh_lighting``.

Same conventions as the NumPy and GLSL versions: basis order (1, y, z, x, xy, yz, 3z^2 - 1,
xz, x^2 - y^2) times ``SH_CONSTANTS``; coefficients (9, 3), one column per colour channel,
in the camera frame; no clamping.
"""

from __future__ import annotations

import torch

from models.render.sh_lighting import SH_CONSTANTS

__all__ = ["sh_basis", "shade"]


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit normals -> (..., 9) SH basis values."""
    c = SH_CONSTANTS
    x, y, z = normals[..., 0], normals[..., 1], normals[..., 2]
    return torch.stack([
        torch.full_like(x, c[0]),
        c[1] * y,
        c[2] * z,
        c[3] * x,
        c[4] * x * y,
        c[5] * y * z,
        c[6] * (3.0 * z * z - 1.0),
        c[7] * x * z,
        c[8] * (x * x - y * y),
    ], dim=-1)


def shade(albedo: torch.Tensor, normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Lambertian SH radiance ``albedo * (sh_basis(normals) @ sh)``.

    albedo, normals: (..., N, 3); sh: (..., 9, 3) broadcastable against the leading dims.
    Returns (..., N, 3).
    """
    return albedo * (sh_basis(normals) @ sh)
