"""Batched geometry on tensors: posing, projection, normals, translation mapping, alignment.

Camera frames are OpenCV's (x right, y down, z forward, metres); intrinsics are (B, 4)
tensors ``fx, fy, cx, cy`` in pixels of the crop.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "pose",
    "project",
    "translation_from_network",
    "umeyama",
    "vertex_normals",
]


def pose(vertices: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """Head-frame vertices (B, N, 3) -> camera frame: ``R p + t``; R (B, 3, 3), t (B, 3)."""
    return vertices @ rotation.transpose(1, 2) + translation[:, None, :]


def project(points: torch.Tensor, intrinsics: torch.Tensor, min_depth: float = 1e-3) -> torch.Tensor:
    """Camera-frame points (B, N, 3) -> pixels (B, N, 2); depth is clamped to ``min_depth``."""
    z = points[..., 2].clamp(min=min_depth)
    fx, fy, cx, cy = (intrinsics[:, i, None] for i in range(4))
    return torch.stack([fx * points[..., 0] / z + cx, fy * points[..., 1] / z + cy], dim=-1)


def translation_from_network(t_norm: torch.Tensor, anchor: torch.Tensor, metric_scale_m: float) -> torch.Tensor:
    """The crop recipe's mapping (``models.crop.CropRecipe.translation_from_network``) on tensors."""
    return anchor + metric_scale_m * t_norm


def translation_to_network(t_crop: torch.Tensor, anchor: torch.Tensor, metric_scale_m: float) -> torch.Tensor:
    return (t_crop - anchor) / metric_scale_m


def vertex_normals(vertices: torch.Tensor, triangles: torch.Tensor, eps: float = 1e-24) -> torch.Tensor:
    """(B, N, 3) unit area-weighted vertex normals, wound as ``models.normals`` says.

    triangles: (T, 3) int64. A vertex used by no triangle gets a zero normal. (Summed area
    vectors of a face mesh in metres are ~1e-6 long, so ``eps`` stays far below their square.)
    """
    a = vertices[:, triangles[:, 0]]
    b = vertices[:, triangles[:, 1]]
    c = vertices[:, triangles[:, 2]]
    face = torch.cross(b - a, c - a, dim=-1)  # (B, T, 3), length = 2 x area
    summed = torch.zeros_like(vertices)
    for k in range(3):
        summed = summed.index_add(1, triangles[:, k], face)
    length = torch.sqrt((summed * summed).sum(-1, keepdim=True) + eps)
    return summed / length


def umeyama(source: np.ndarray, target: np.ndarray, with_scale: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama 1991) taking ``source`` (N, 3) onto ``target`` (N, 3).

    Returns ``(s, R, t)`` with ``target ~ s R source + t``.
    """
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / src.shape[0]
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / (xs * xs).sum(1).mean()) if with_scale else 1.0
    return scale, rotation, mu_d - scale * rotation @ mu_s
