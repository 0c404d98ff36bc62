"""Partial occluders drawn into a rendered frame's colour and (clean) depth.

* **hands**: a palm ellipse with four or five finger ellipses, skin-coloured, on a plane 2-15
  cm in front of the face, drawn in colour and depth;
* **objects**: an ellipse or a rotated bar (a cup, a microphone, a phone), any colour, in
  colour and depth;
* **strands**: thin dark curves (hair, glasses frames) in colour only.

Positions and sizes are relative to the face's centre and size in the image, so occluders
cover part of the face, not all of it.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["add_occluders"]

_SKIN_SRGB = ((235, 195, 170), (200, 150, 120), (150, 100, 75), (95, 60, 45))


def _shade(rgb: np.ndarray, mask: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``mask`` with ``colour`` and a soft left-to-right shading ramp (in place)."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return
    ramp = (xs - xs.min()) / max(1, xs.max() - xs.min()) - 0.5
    gain = 1.0 + rng.uniform(-0.4, 0.4) * ramp
    rgb[ys, xs] = np.clip(colour[None, :] * gain[:, None] + rng.normal(0, 4, (xs.size, 3)), 0, 255)


def _hand(mask: np.ndarray, centre: np.ndarray, size: float, rng: np.random.Generator) -> None:
    angle = rng.uniform(0, 360)
    palm = (max(2, int(0.22 * size)), max(2, int(0.26 * size)))
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])), palm, angle, 0, 360, 1, -1)
    direction = np.array([np.cos(np.radians(angle - 90)), np.sin(np.radians(angle - 90))])
    side = np.array([-direction[1], direction[0]])
    for k in range(int(rng.integers(4, 6))):
        spread = (k - 1.5) * 0.11 * size
        length = rng.uniform(0.2, 0.32) * size
        base = centre + direction * palm[1] * 0.8 + side * spread
        tip_centre = base + direction * length / 2
        finger_angle = np.degrees(np.arctan2(direction[1], direction[0])) + rng.uniform(-12, 12)
        cv2.ellipse(mask, (int(tip_centre[0]), int(tip_centre[1])), (max(1, int(length / 2)), max(1, int(0.045 * size))),
                    finger_angle, 0, 360, 1, -1)


def _object(mask: np.ndarray, centre: np.ndarray, size: float, rng: np.random.Generator) -> None:
    if rng.uniform() < 0.5:
        axes = (max(2, int(rng.uniform(0.08, 0.3) * size)), max(2, int(rng.uniform(0.08, 0.3) * size)))
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    else:
        box = ((float(centre[0]), float(centre[1])), (rng.uniform(0.06, 0.15) * size, rng.uniform(0.3, 0.9) * size),
               rng.uniform(0, 180))
        cv2.fillPoly(mask, [np.round(cv2.boxPoints(box)).astype(np.int32)], 1)


def _strands(rgb: np.ndarray, centre: np.ndarray, size: float, rng: np.random.Generator) -> None:
    colour = tuple(float(c) for c in rng.uniform(0, 80, 3))
    for _ in range(int(rng.integers(1, 6))):
        start = centre + rng.uniform(-0.5, 0.5, 2) * size
        points = [start]
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(6):
            heading += rng.normal(0, 0.3)
            points.append(points[-1] + 0.06 * size * np.array([np.cos(heading), np.sin(heading)]))
        cv2.polylines(rgb, [np.round(np.array(points)).astype(np.int32)], False, colour,
                      thickness=int(rng.integers(1, 3)), lineType=cv2.LINE_AA)


def add_occluders(rgb: np.ndarray, depth: np.ndarray, face_centre_px: np.ndarray, face_size_px: float,
                  face_depth_m: float, rng: np.random.Generator) -> None:
    """Draw 1-2 random occluders into ``rgb`` (H, W, 3) uint8 and ``depth`` (H, W) float32
    metres (clean, 0 invalid), both modified in place.

    face_centre_px: (2,) the face centre in pixels; face_size_px: its size in pixels;
    face_depth_m: its depth (occluders go 2-15 cm in front of it).
    """
    for _ in range(int(rng.integers(1, 3))):
        kind = rng.choice(3, p=(0.45, 0.35, 0.2))
        centre = np.asarray(face_centre_px, np.float64) + rng.uniform(-0.55, 0.55, 2) * face_size_px
        if kind == 2:
            _strands(rgb, centre, face_size_px, rng)
            continue
        mask = np.zeros(depth.shape, np.uint8)
        if kind == 0:
            _hand(mask, centre, face_size_px, rng)
            colour = np.asarray(_SKIN_SRGB[int(rng.integers(len(_SKIN_SRGB)))], np.float64) * rng.uniform(0.8, 1.1)
        else:
            _object(mask, centre, face_size_px, rng)
            colour = rng.uniform(0, 255, 3)
        region = mask.astype(bool)
        _shade(rgb, region, colour, rng)
        plane = max(0.12, face_depth_m - rng.uniform(0.02, 0.15))
        ys, xs = np.nonzero(region)
        tilt = rng.uniform(-0.1, 0.1, 2) / max(face_size_px, 1.0)
        depth[ys, xs] = plane + tilt[0] * (xs - centre[0]) * plane + tilt[1] * (ys - centre[1]) * plane
