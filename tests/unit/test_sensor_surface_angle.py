"""Surface-to-view-ray angles from depth maps, checked against analytic planes and spheres."""

from __future__ import annotations

import numpy as np
import pytest

from models.camera import Intrinsics
from models.sensor import plane_depth, sphere_depth, tilted_plane_depth, view_cosine

INTRINSICS = Intrinsics.from_fov(640, 480, 60.0)


def _true_ray_cosine(normal: np.ndarray) -> np.ndarray:
    u = (np.arange(INTRINSICS.width) - INTRINSICS.cx) / INTRINSICS.fx
    v = (np.arange(INTRINSICS.height) - INTRINSICS.cy) / INTRINSICS.fy
    x, y = np.meshgrid(u, v)
    rays = np.stack([x, y, np.ones_like(x)], axis=-1)
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    return np.abs(rays @ (normal / np.linalg.norm(normal)))


@pytest.mark.parametrize("tilt_deg", [0.0, 30.0, 60.0, 75.0])
def test_tilted_plane_angle_matches_geometry(tilt_deg: float) -> None:
    tilt = np.radians(tilt_deg)
    depth = tilted_plane_depth(INTRINSICS, 0.5, tilt)
    cos = view_cosine(depth, INTRINSICS)
    truth = _true_ray_cosine(np.array([np.sin(tilt), 0.0, -np.cos(tilt)]))
    centre = (slice(200, 280), slice(260, 380))
    np.testing.assert_allclose(cos[centre], truth[centre], atol=2e-3)
    assert cos[240, 320] == pytest.approx(np.cos(tilt), abs=2e-3)


def test_sphere_angle_and_discontinuities() -> None:
    centre = np.array([0.0, 0.0, 0.45])
    depth = sphere_depth(INTRINSICS, tuple(centre), 0.09, background=1.2)
    cos = view_cosine(depth, INTRINSICS)
    # Exact cosine on the sphere: the normal is (P - C) / R.
    u = (np.arange(INTRINSICS.width) - INTRINSICS.cx) / INTRINSICS.fx
    v = (np.arange(INTRINSICS.height) - INTRINSICS.cy) / INTRINSICS.fy
    x, y = np.meshgrid(u, v)
    points = np.stack([x * depth, y * depth, depth], axis=-1)
    rays = points / np.linalg.norm(points, axis=-1, keepdims=True)
    normals = (points - centre) / 0.09
    truth = np.abs(np.sum(rays * normals, axis=-1))
    on_sphere = depth < 1.0
    facing = on_sphere & (truth > 0.5)
    assert np.max(np.abs(cos[facing] - truth[facing])) < 0.02
    # The wall right next to the sphere still reads as facing the camera (one-sided slopes).
    wall = (depth > 1.0) & (np.abs(np.hypot(x, y) - 0.2) < 0.05)
    assert np.min(cos[wall]) > 0.9


def test_invalid_pixels_read_zero_and_values_are_bounded() -> None:
    depth = plane_depth(INTRINSICS, 0.5)
    depth[10:20, 10:20] = np.nan
    depth[30:40, 30:40] = 0.0
    cos = view_cosine(depth, INTRINSICS)
    assert cos.dtype == np.float32
    assert np.all(cos[10:20, 10:20] == 0) and np.all(cos[30:40, 30:40] == 0)
    assert np.all((cos >= 0) & (cos <= 1)) and np.all(np.isfinite(cos))
