"""Per-pixel use of a render's triangle ids and barycentrics.

The renderer's barycentrics are *perspective-correct*: they weight the triangle's 3-D corners,
so ``sum_k b[k] * V[k]`` is the camera-frame surface point on the pixel's ray, and they
interpolate any per-vertex attribute (colour, UV, head-frame position) as it varies on the
surface. *Screen-space* barycentrics instead weight the projected 2-D corners, so
``sum_k s[k] * project(V[k])`` is the pixel centre; the two are related by
``s[k] = b[k] z[k] / sum_j b[j] z[j]`` with ``z`` the corners' camera depths.
"""

from __future__ import annotations

import numpy as np

__all__ = ["interpolate", "screen_barycentrics"]


def interpolate(
    attribute: np.ndarray, triangle_id: np.ndarray, barycentrics: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """Interpolate a per-vertex attribute at every pixel.

    Args:
        attribute: (N, C) per-vertex values (e.g. camera-frame vertices for the 3-D point seen
            at each pixel).
        triangle_id: (H, W) int32 from the render, -1 on the background.
        barycentrics: (H, W, 3) float32 from the render (perspective-correct).
        triangles: (T, 3) the triangles that were rendered.

    Returns:
        (H, W, C) float32; 0 on the background.
    """
    attribute = np.asarray(attribute, dtype=np.float32)
    attribute = attribute.reshape(attribute.shape[0], -1)
    out = np.zeros((*triangle_id.shape, attribute.shape[1]), dtype=np.float32)
    rows, cols = np.nonzero(triangle_id >= 0)
    corners = attribute[triangles[triangle_id[rows, cols]]]  # (M, 3, C)
    out[rows, cols] = np.einsum("mk,mkc->mc", barycentrics[rows, cols], corners)
    return out


def screen_barycentrics(
    barycentrics: np.ndarray, triangle_id: np.ndarray, vertices: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """(H, W, 3) float32 screen-space barycentrics from the perspective-correct ones.

    ``vertices`` (N, 3) are the camera-frame vertices that were rendered; background pixels
    stay 0.
    """
    z = np.asarray(vertices, dtype=np.float64)[:, 2]
    out = np.zeros(barycentrics.shape, dtype=np.float32)
    rows, cols = np.nonzero(triangle_id >= 0)
    weighted = barycentrics[rows, cols].astype(np.float64) * z[triangles[triangle_id[rows, cols]]]
    out[rows, cols] = weighted / weighted.sum(axis=1, keepdims=True)
    return out
