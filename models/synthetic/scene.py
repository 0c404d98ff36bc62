"""What surrounds the synthetic head: shoulders, clothing, backdrop and its depth."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.camera import Intrinsics

# Where the torso's neck base sits in the head frame (metres): below and behind the chin.
NECK_BASE_IN_HEAD = np.array([0.0, -0.165, -0.035])


def torso_mesh(
    shoulder_half_width: float = 0.21,
    chest_half_depth: float = 0.11,
    neck_radius: float = 0.062,
    height: float = 0.45,
    rings: int = 24,
    segments: int = 48,
) -> tuple[np.ndarray, np.ndarray]:
    """A closed-sided shoulders-and-chest surface in its own frame (y up, z forward).

    The top ring is the neck (radius ``neck_radius``) at the origin; cross-sections are
    ellipses that widen to the shoulders over the first 9 cm and continue down ``height``.

    Returns:
        vertices (rings * segments, 3) float32 metres and triangles (T, 3) int32.
    """
    depth_below = np.linspace(0.0, height, rings)
    # Smooth ramp from the neck to the shoulders, then straight sides.
    ramp = np.clip(depth_below / 0.09, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)
    half_width = neck_radius + (shoulder_half_width - neck_radius) * np.sqrt(ramp)
    half_depth = neck_radius * 0.9 + (chest_half_depth - neck_radius * 0.9) * ramp
    # The shoulders slope down away from the neck: lower the sides more than the middle.
    angle = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    cos, sin = np.cos(angle), np.sin(angle)
    x = half_width[:, None] * cos[None, :]
    z = half_depth[:, None] * sin[None, :]
    slope = 0.05 * (np.abs(cos)[None, :] ** 2) * ramp[:, None]
    y = -depth_below[:, None] - slope
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3).astype(np.float32)
    r, s = np.meshgrid(np.arange(rings - 1), np.arange(segments), indexing="ij")
    a = r * segments + s
    b = r * segments + (s + 1) % segments
    c = a + segments
    d = b + segments
    triangles = np.concatenate([np.stack([a, c, b], -1), np.stack([b, c, d], -1)]).reshape(-1, 3)
    return vertices, triangles.astype(np.int32)


@dataclass(frozen=True)
class Backdrop:
    """A static room behind the actor, seen by colour and depth.

    image: (H, W, 3) uint8 RGB of the backdrop; depth: (H, W) float32 metres (a slightly
    tilted wall; 0 where it lies beyond the sensor's range).
    """

    image: np.ndarray
    depth: np.ndarray


def make_backdrop(intrinsics: Intrinsics, rng: np.random.Generator, max_range_m: float = 1.6) -> Backdrop:
    """A random backdrop: a coloured gradient with soft blotches and a few panels, on a wall
    1.0-2.5 m away (beyond ``max_range_m`` the depth is invalid, as on a TrueDepth camera)."""
    w, h = intrinsics.width, intrinsics.height
    base = rng.uniform(40, 220, 3)
    tilt = rng.uniform(-60, 60, 3)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    image = base[None, None, :] + tilt[None, None, :] * (ys[..., None] / h - 0.5)
    blotches = rng.standard_normal((h // 16 + 1, w // 16 + 1, 3)).astype(np.float32)
    blotches = cv2.resize(blotches, (w, h), interpolation=cv2.INTER_CUBIC)
    image += 25 * blotches
    for _ in range(rng.integers(1, 5)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(30, w // 2), y0 + rng.integers(30, h // 2)
        image[y0:y1, x0:x1] = rng.uniform(20, 235, 3)
    image = cv2.GaussianBlur(image, (0, 0), 1.5)
    image += rng.normal(0, 3, image.shape)
    distance = rng.uniform(1.0, 2.5)
    slope_x, slope_y = rng.uniform(-0.3, 0.3, 2)
    rays_x = (xs - intrinsics.cx) / intrinsics.fx
    rays_y = (ys - intrinsics.cy) / intrinsics.fy
    # Plane z = distance + slope_x * x + slope_y * y, intersected with each pixel's ray.
    depth = distance / np.maximum(1.0 - slope_x * rays_x - slope_y * rays_y, 0.2)
    depth = np.where(depth <= max_range_m, depth, 0.0).astype(np.float32)
    return Backdrop(np.clip(image, 0, 255).astype(np.uint8), depth)
