"""Random backgrounds for synthetic frames: colour and depth behind the actor, cheaply.

Images are built at a quarter of the resolution and upsampled (a few milliseconds at
640x480): smooth colour fields, colour noise, clutter of random shapes, or a mix. Depth is a
wall 0.9-3 m away (invalid beyond the sensor's range), sometimes with a nearer box in front
of it, sometimes nothing at all (an open room).
"""

from __future__ import annotations

import cv2
import numpy as np

from models.camera import Intrinsics
from models.synthetic.scene import Backdrop

__all__ = ["random_backdrop"]


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    h, w = shape
    coarse = rng.uniform(0, 255, (max(2, h * cells // w), cells, 3)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _image(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    h, w = max(8, height // 4), max(8, width // 4)
    style = rng.integers(0, 4)
    if style == 0:  # smooth colour field (a wall with soft light)
        img = _smooth_field(rng, (h, w), int(rng.integers(2, 6)))
    elif style == 1:  # colour noise at a random grain
        grain = int(rng.integers(1, 8))
        img = cv2.resize(rng.uniform(0, 255, (max(2, h // grain), max(2, w // grain), 3)).astype(np.float32),
                         (w, h), interpolation=cv2.INTER_NEAREST if rng.uniform() < 0.5 else cv2.INTER_LINEAR)
    elif style == 2:  # flat colour with a gradient
        base = rng.uniform(20, 235, 3).astype(np.float32)
        ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None] * rng.uniform(-50, 50, 3).astype(np.float32)
        img = np.broadcast_to(base + ramp, (h, w, 3)).copy()
    else:  # clutter
        img = _smooth_field(rng, (h, w), 3)
    for _ in range(int(rng.poisson(4 if style == 3 else 1))):  # shapes: shelves, posters, lamps
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.uniform() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(4, w // 2 + 5)), y0 + int(rng.integers(4, h // 2 + 5))),
                          colour, thickness=-1)
        else:
            cv2.circle(img, (x0, y0), int(rng.integers(3, max(4, h // 3))), colour, thickness=-1)
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(img, 0, 255).astype(np.uint8)


def _depth(rng: np.random.Generator, intrinsics: Intrinsics, max_range_m: float) -> np.ndarray:
    w, h = intrinsics.width, intrinsics.height
    if rng.uniform() < 0.15:
        return np.zeros((h, w), np.float32)  # nothing in range
    distance = rng.uniform(0.9, 3.0)
    slope_x, slope_y = rng.uniform(-0.4, 0.4, 2)
    rays_x = (np.arange(w, dtype=np.float32) - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx)
    rays_y = (np.arange(h, dtype=np.float32) - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy)
    denominator = np.float32(1.0) - np.float32(slope_x) * rays_x[None, :] - np.float32(slope_y) * rays_y[:, None]
    depth = np.float32(distance) / np.maximum(denominator, np.float32(0.2))
    if rng.uniform() < 0.3:  # a nearer box (furniture, a chair back)
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
        depth[y0:y1, x0:x1] = rng.uniform(0.5, distance)
    return np.where(depth <= max_range_m, depth, 0.0).astype(np.float32)


def random_backdrop(intrinsics: Intrinsics, rng: np.random.Generator, max_range_m: float = 1.5) -> Backdrop:
    """A random :class:`models.synthetic.scene.Backdrop` on the ``intrinsics`` grid."""
    return Backdrop(_image(rng, intrinsics.width, intrinsics.height), _depth(rng, intrinsics, max_range_m))
