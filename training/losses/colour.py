"""The colour term (Eq. 6) with fixed pixel-triangle correspondences.

As in the paper: the predicted mesh is rasterised (``models.render.MeshRenderer``, triangle
ids and perspective-correct barycentrics, no gradient), then the correspondence (which
triangle each face pixel sees, and where in it) is *fixed*, and the synthetic colour at those
pixels is computed differentiably::

    I_syn(m) = albedo(m) * (sh_basis(n(m)) @ sh)
    albedo(m) = sum_k b_k albedo[v_k],   n(m) = normalise(sum_k b_k normal[v_k])

(the renderer's own per-pixel shading), so gradients reach the albedo and lighting
coefficients and, through the vertex normals, the geometry. The loss is the l2,1 norm: the
mean over the face pixels F of ``|| I_syn(m) - I_real(m) ||_2`` in linear RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.camera import Intrinsics
from models.render.renderer import MeshRenderer
from training.geometry import vertex_normals
from training.losses.shading import shade

__all__ = ["PixelCorrespondence", "Rasterizer", "colour_loss", "srgb_to_linear"]


@dataclass
class PixelCorrespondence:
    """Fixed pixel -> surface correspondences of P face pixels across a batch.

    batch: (P,) int64 batch item; pixel: (P,) int64 flat pixel index ``v * S + u``;
    triangle: (P,) int64 row of the mesh's triangles; barycentrics: (P, 3) float.
    """

    batch: torch.Tensor
    pixel: torch.Tensor
    triangle: torch.Tensor
    barycentrics: torch.Tensor

    def __len__(self) -> int:
        return int(self.batch.shape[0])


class Rasterizer:
    """Rasterises batches of crop-frame meshes into :class:`PixelCorrespondence` (no gradient).

    Owns one ``MeshRenderer`` of the crop size, created on first use in the calling process.

    Args:
        size: S, the crop side in pixels.
        triangles: (T, 3) int triangles of the mesh (e.g. the narrow-face region).
    """

    def __init__(self, size: int, triangles: np.ndarray):
        self.size = size
        self.triangles = np.ascontiguousarray(triangles, dtype=np.int32)
        self._renderer: MeshRenderer | None = None
        self._colors: np.ndarray | None = None

    def __call__(self, vertices: torch.Tensor, intrinsics: torch.Tensor, items: torch.Tensor | None = None
                 ) -> PixelCorrespondence:
        """vertices: (B, V, 3) crop camera frame; intrinsics: (B, 4); items: which batch rows."""
        if self._renderer is None:
            self._renderer = MeshRenderer(self.size, self.size)
        verts = vertices.detach().cpu().float().numpy()
        intr = intrinsics.detach().cpu().double().numpy()
        rows = range(verts.shape[0]) if items is None else items.tolist()
        if self._colors is None or self._colors.shape[0] != verts.shape[1]:
            self._colors = np.zeros((verts.shape[1], 3), np.float32)
        batch, pixel, triangle, bary = [], [], [], []
        for b in rows:
            fx, fy, cx, cy = intr[b]
            camera = Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=self.size, height=self.size)
            result = self._renderer.render(verts[b], self.triangles, camera, self._colors,
                                           outputs=("triangle_id", "barycentrics"))
            flat = np.flatnonzero(result.triangle_id.reshape(-1) >= 0)
            batch.append(np.full(flat.size, b, np.int64))
            pixel.append(flat)
            triangle.append(result.triangle_id.reshape(-1)[flat].astype(np.int64))
            bary.append(result.barycentrics.reshape(-1, 3)[flat])
        device = vertices.device

        def cat(parts: list[np.ndarray], empty: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.concatenate(parts) if parts else empty).to(device)

        return PixelCorrespondence(
            batch=cat(batch, np.zeros(0, np.int64)), pixel=cat(pixel, np.zeros(0, np.int64)),
            triangle=cat(triangle, np.zeros(0, np.int64)),
            barycentrics=cat(bary, np.zeros((0, 3), np.float32)).to(vertices.dtype),
        )

    def release(self) -> None:
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None


def srgb_to_linear(srgb: torch.Tensor) -> torch.Tensor:
    """sRGB values in [0, 1] -> linear RGB (IEC 61966-2-1), as ``models.render.color``."""
    srgb = srgb.clamp(0.0, 1.0)
    return torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def colour_loss(
    vertices: torch.Tensor,
    albedo: torch.Tensor,
    sh: torch.Tensor,
    image: torch.Tensor,
    triangles: torch.Tensor,
    correspondence: PixelCorrespondence,
    eps: float = 1e-8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6 per batch item.

    Args:
        vertices: (B, V, 3) posed mesh, crop camera frame (the triangles' vertex indices).
        albedo: (B, V, 3) per-vertex linear-RGB albedo.
        sh: (B, 9, 3) SH lighting in the crop camera frame.
        image: (B, S, S, 3) the input colour crop, linear RGB in [0, 1].
        triangles: (T, 3) int64.
        correspondence: the fixed pixel correspondences (from :class:`Rasterizer`).

    Returns:
        ``(loss, count)``: (B,) mean l2 colour residual over each item's face pixels (0 where
        an item has none) and (B,) the number of those pixels.
    """
    b = correspondence.batch
    corners = triangles[correspondence.triangle]  # (P, 3)
    weights = correspondence.barycentrics.to(vertices.dtype)[..., None]  # (P, 3, 1)
    normals = vertex_normals(vertices, triangles)
    n = (normals[b[:, None], corners] * weights).sum(1)
    n = n / torch.sqrt((n * n).sum(-1, keepdim=True) + eps)
    a = (albedo[b[:, None], corners] * weights).sum(1)
    predicted = shade(a[:, None, :], n[:, None, :], sh[b])[:, 0]  # (P, 3)
    size = image.shape[1] * image.shape[2]
    real = image.reshape(-1, 3)[b * size + correspondence.pixel]
    residual = torch.sqrt(((predicted - real) ** 2).sum(-1) + eps)
    batch_size = vertices.shape[0]
    total = torch.zeros(batch_size, dtype=vertices.dtype, device=vertices.device).index_add(0, b, residual)
    count = torch.zeros(batch_size, dtype=vertices.dtype, device=vertices.device).index_add(
        0, b, torch.ones_like(residual))
    return total / count.clamp(min=1.0), count
