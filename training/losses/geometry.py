"""The geometry terms: Eq. 5 (mesh to the input point cloud) and Eq. 10 (to a scan's points).

``E_geo = 1/|P| sum_p || R p + t - p' ||_2`` (l2,1), ``p'`` the closest input point of the
posed vertex. Correspondences are found without gradient and then held fixed for the step
(or, in the decoder phase, for the whole phase: see :mod:`training.schedule`).

Two searches:

* :func:`projective_closest_points` for an XYZ crop (a depth camera's organised point cloud):
  the closest valid point among the (2r+1)^2 pixels around the vertex's projection. On a
  surface seen by a depth camera the closest point lies near the projection; the window keeps
  the search O(V r^2) instead of O(V S^2), so all vertices can be used every step.
* :func:`closest_points` for unorganised points (scans): exact, by chunked distance matrices.

Correspondences farther than ``max_distance`` (occluders, holes, background) are dropped.
"""

from __future__ import annotations

import torch

from training.geometry import project

__all__ = ["closest_points", "point_to_point_loss", "projective_closest_points"]


@torch.no_grad()
def projective_closest_points(
    vertices: torch.Tensor,
    xyz: torch.Tensor,
    valid: torch.Tensor,
    intrinsics: torch.Tensor,
    radius: int = 3,
    max_distance: float = 0.03,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closest valid XYZ pixel around each vertex's projection.

    Args:
        vertices: (B, N, 3) posed vertices, crop camera frame (metres).
        xyz: (B, S, S, 3) crop-frame points (metres); valid: (B, S, S) bool.
        intrinsics: (B, 4) crop camera.
        radius: the search window's half side in pixels.
        max_distance: correspondences farther than this (metres) are not found.

    Returns:
        ``(points, found)``: (B, N, 3) the corresponding points, (B, N) bool.
    """
    batch, n, _ = vertices.shape
    size = xyz.shape[1]
    uv = torch.round(project(vertices, intrinsics)).long()  # (B, N, 2)
    offsets = torch.arange(-radius, radius + 1, device=vertices.device)
    du, dv = torch.meshgrid(offsets, offsets, indexing="xy")
    u = uv[..., 0:1] + du.reshape(1, 1, -1)
    v = uv[..., 1:2] + dv.reshape(1, 1, -1)  # (B, N, W)
    inside = (u >= 0) & (u < size) & (v >= 0) & (v < size)
    flat = (v.clamp(0, size - 1) * size + u.clamp(0, size - 1))  # (B, N, W)
    rows = torch.arange(batch, device=vertices.device)[:, None, None]
    candidates = xyz.reshape(batch, -1, 3)[rows, flat]  # (B, N, W, 3)
    ok = inside & valid.reshape(batch, -1)[rows, flat]
    distance = torch.linalg.vector_norm(candidates - vertices[:, :, None, :], dim=-1)
    distance = torch.where(ok, distance, torch.full_like(distance, float("inf")))
    best, index = distance.min(dim=2)
    points = torch.gather(candidates, 2, index[..., None, None].expand(-1, -1, 1, 3))[:, :, 0]
    return points, best <= max_distance


@torch.no_grad()
def closest_points(
    vertices: torch.Tensor,
    points: torch.Tensor,
    valid: torch.Tensor | None = None,
    max_distance: float = 0.03,
    chunk: int = 1024,
    rows: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact closest point of each vertex in an unorganised cloud.

    Args:
        vertices: (B, N, 3); points: (B, M, 3); valid: (B, M) bool or None (all valid).
        rows: (B,) bool, the batch items to search (default all); the others are not found.

    Returns:
        ``(closest, found)``: (B, N, 3) and (B, N) bool.
    """
    batch, n, _ = vertices.shape
    closest = torch.zeros_like(vertices)
    found = torch.zeros(batch, n, dtype=torch.bool, device=vertices.device)
    for b in range(batch):
        if rows is not None and not bool(rows[b]):
            continue
        cloud = points[b] if valid is None else points[b][valid[b]]
        if cloud.shape[0] == 0:
            continue
        for start in range(0, n, chunk):
            query = vertices[b, start:start + chunk]
            distance = torch.cdist(query, cloud)
            best, index = distance.min(dim=1)
            closest[b, start:start + chunk] = cloud[index]
            found[b, start:start + chunk] = best <= max_distance
    return closest, found


def point_to_point_loss(vertices: torch.Tensor, targets: torch.Tensor, found: torch.Tensor, eps: float = 1e-10
                        ) -> torch.Tensor:
    """(B,) l2,1 loss: mean over found vertices of ``|| v - target ||_2`` in metres (0 if none)."""
    distance = torch.sqrt(((vertices - targets) ** 2).sum(-1) + eps)
    weight = found.to(vertices.dtype)
    return (distance * weight).sum(1) / weight.sum(1).clamp(min=1.0)
