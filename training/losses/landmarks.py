"""The landmark terms: Eq. 7 in the image, Eq. 8 in 3D (l2,1 over the 68 landmarks)."""

from __future__ import annotations

import torch

from training.geometry import project

__all__ = ["landmark_2d_loss", "landmark_3d_loss"]


def landmark_2d_loss(posed_landmarks: torch.Tensor, targets: torch.Tensor, intrinsics: torch.Tensor,
                     eps: float = 1e-10) -> torch.Tensor:
    """Eq. 7: (B,) mean pixel distance between projected landmark vertices and detections.

    posed_landmarks: (B, L, 3) crop camera frame; targets: (B, L, 2) crop pixels;
    intrinsics: (B, 4).
    """
    diff = project(posed_landmarks, intrinsics) - targets
    return torch.sqrt((diff * diff).sum(-1) + eps).mean(1)


def landmark_3d_loss(posed_landmarks: torch.Tensor, targets: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Eq. 8: (B,) mean 3D distance (metres) between posed landmark vertices and the scan's landmarks."""
    diff = posed_landmarks - targets
    return torch.sqrt((diff * diff).sum(-1) + eps).mean(1)
