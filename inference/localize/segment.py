"""Who is in front of the camera: the nearest surface and the body attached to it, from depth.

The grid's valid depth is cut along depth discontinuities (neighbours further apart in depth
than ``max(2 cm, 5 % of the depth)``) into connected surfaces. The *seed* is the nearest
surface with at least a small face's area (on a head-and-shoulders view: the head and neck;
on a hole-filled portrait depth map: the whole person). Surfaces touching the seed across a
small depth step and not far behind it (shoulders, chest) join it to form the *person*; the
wall behind, seen across a large step, does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.localize.grid import DepthGrid

__all__ = ["Person", "SegmentConfig", "segment_person"]


@dataclass(frozen=True)
class SegmentConfig:
    """Thresholds of :func:`segment_person` (metres, square metres).

    edge_abs_m, edge_rel: neighbours further apart in depth than ``max(edge_abs_m,
        edge_rel * z)`` lie on different surfaces.
    min_area_m2: the least metric area of the seed surface (a face is about 0.03).
    max_depth_m: surfaces whose mean depth is beyond this are ignored.
    body_band_m: a surface joins the person if its mean depth is at most this far behind the
        seed's, ...
    max_step_m: ... and it meets the seed across a depth step of at most this (mean over the
        shared boundary).
    """

    edge_abs_m: float = 0.02
    edge_rel: float = 0.05
    min_area_m2: float = 0.008
    max_depth_m: float = 2.5
    body_band_m: float = 0.4
    max_step_m: float = 0.12


@dataclass(frozen=True, eq=False)
class Person:
    """The segmentation on the grid.

    mask: (h, w) bool, the seed and the surfaces attached to it.
    seed: (h, w) bool, the nearest substantial surface.
    seed_depth: mean depth (m) of the seed.
    """

    mask: np.ndarray
    seed: np.ndarray
    seed_depth: float


def _surfaces(grid: DepthGrid, config: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """(labels (h, w) int32 with 0 for invalid and edge cells, foreground (h, w) bool)."""
    z, valid = grid.z, grid.valid
    thr = np.maximum(config.edge_abs_m, config.edge_rel * z)
    edge = np.zeros_like(valid)
    jump_x = (np.abs(z[:, 1:] - z[:, :-1]) > np.maximum(thr[:, 1:], thr[:, :-1])) & valid[:, 1:] & valid[:, :-1]
    jump_y = (np.abs(z[1:] - z[:-1]) > np.maximum(thr[1:], thr[:-1])) & valid[1:] & valid[:-1]
    edge[:, 1:] |= jump_x
    edge[:, :-1] |= jump_x
    edge[1:] |= jump_y
    edge[:-1] |= jump_y
    foreground = valid & ~edge
    _, labels = cv2.connectedComponents(foreground.view(np.uint8), connectivity=4)
    return labels, foreground


def segment_person(grid: DepthGrid, config: SegmentConfig | None = None) -> Person | None:
    """The person nearest the camera, or None when no surface is large enough."""
    config = config or SegmentConfig()
    if np.count_nonzero(grid.valid) < 30:
        return None
    labels, foreground = _surfaces(grid, config)
    count = int(labels.max()) + 1
    flat = labels.ravel()
    z = grid.z.ravel()
    cells = np.bincount(flat, minlength=count).astype(np.float64)
    mean_z = np.bincount(flat, weights=z, minlength=count) / np.maximum(cells, 1)
    area = np.bincount(flat, weights=z * z, minlength=count) * grid.cell_area_m2(np.float32(1.0))
    candidate = (area >= config.min_area_m2) & (mean_z < config.max_depth_m)
    candidate[0] = False
    if not candidate.any():
        return None
    seed_label = int(np.argmin(np.where(candidate, mean_z, np.inf)))
    seed = labels == seed_label
    # The nearest seed depth within 3 cells of every cell; joins surfaces across edge cells.
    seed_z = np.where(seed, grid.z, np.float32(1e3)).astype(np.float32)
    near = cv2.erode(seed_z, np.ones((7, 7), np.uint8))
    ring = (near < 1e3) & ~seed & foreground
    mask = seed.copy()
    if ring.any():
        ring_labels = labels[ring]
        step = np.clip(grid.z[ring] - near[ring], -1.0, 1.0)
        touching = np.bincount(ring_labels, minlength=count)
        mean_step = np.bincount(ring_labels, weights=step, minlength=count) / np.maximum(touching, 1)
        body = ((touching >= 2) & (np.abs(mean_step) <= config.max_step_m)
                & (mean_z <= mean_z[seed_label] + config.body_band_m)
                & (area >= config.min_area_m2 / 10))
        body[0] = body[seed_label] = False
        if body.any():
            mask |= body[labels]
    return Person(mask=mask, seed=seed, seed_depth=float(mean_z[seed_label]))
