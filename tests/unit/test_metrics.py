"""Evaluation metrics: fit error to a depth map, per-vertex error, similarity alignment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from models.camera import Intrinsics
from models.metrics import (
    ErrorSummary,
    fit_error_mm,
    rasterize_depth,
    similarity_align,
    vertex_error_mm,
    vertices_on_valid_depth,
    visible_vertices,
)

CAMERA = Intrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=640, height=480)
PIXEL_AT_HALF_METRE_MM = 500.0 / 600.0


def _patch(z: float, half_size: float = 0.05, n: int = 40) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(-half_size, half_size, n), np.linspace(-half_size, half_size, n))
    return np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, z)], axis=1)


def test_fit_error_to_a_plane_is_the_offset() -> None:
    depth = np.full((480, 640), 0.5, np.float32)
    distances = fit_error_mm(_patch(0.503), depth, CAMERA)
    assert distances.shape == (1600,) and distances.dtype == np.float64
    # The closest cloud point is at most half a pixel diagonal away sideways.
    lateral = np.hypot(0.5, 0.5) * PIXEL_AT_HALF_METRE_MM
    assert distances.min() >= 3.0 - 1e-4
    assert distances.max() <= np.hypot(3.0, lateral) + 1e-4
    assert ErrorSummary.of(distances).median == pytest.approx(3.0, abs=0.1)
    # On the plane itself the error vanishes at pixel rays and stays sub-pixel elsewhere.
    assert fit_error_mm(_patch(0.5), depth, CAMERA).max() <= lateral + 1e-4


def test_only_vertices_on_valid_depth_count() -> None:
    depth = np.full((480, 640), 0.5, np.float32)
    depth[:, 320:] = np.nan  # the right half is invalid
    depth[:240, :100] = 0.0
    vertices = np.array([[-0.05, 0.0, 0.5], [0.05, 0.0, 0.5], [0.0, 0.0, -0.5], [2.0, 0.0, 0.5],
                         [-0.3, -0.2, 0.5]])
    np.testing.assert_array_equal(vertices_on_valid_depth(vertices, depth, CAMERA), [True, False, False, False, False])
    assert len(fit_error_mm(vertices, depth, CAMERA)) == 1
    empty = fit_error_mm(vertices, np.zeros((480, 640), np.float32), CAMERA)
    assert empty.shape == (0,)
    summary = ErrorSummary.of(empty)
    assert np.isnan(summary.mean) and summary.count == 0


def test_max_distance_leaves_out_far_vertices() -> None:
    depth = np.full((480, 640), 0.5, np.float32)
    vertices = np.concatenate([_patch(0.502, n=10), _patch(0.53, n=10)])
    assert len(fit_error_mm(vertices, depth, CAMERA)) == 200
    kept = fit_error_mm(vertices, depth, CAMERA, max_distance_m=0.01)
    assert len(kept) == 100 and kept.max() < 2.5


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n*n, 2) grid coordinates in [-1, 1] and the (2 (n-1)^2, 3) triangles joining them."""
    xs, ys = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    i = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).ravel()
    triangles = np.concatenate([np.stack([i, i + n, i + 1], 1), np.stack([i + 1, i + n, i + n + 1], 1)])
    return np.column_stack([xs.ravel(), ys.ravel()]), triangles


def test_visibility_leaves_out_hidden_and_grazing_vertices() -> None:
    grid, triangles = _grid(7)
    # Two squares facing the camera, the second 10 cm behind and half hidden by the first,
    # and a third seen almost edge-on.
    front = np.column_stack([0.03 * grid + [0.02, 0.0], np.full(49, 0.5)])
    back = np.column_stack([0.03 * grid - [0.02, 0.0], np.full(49, 0.6)])
    edge_on = np.column_stack([0.03 * grid[:, 0] + 0.12, 0.03 * grid[:, 1], 0.5 + 0.3 * grid[:, 0]])
    vertices = np.concatenate([front, back, edge_on])
    seen = visible_vertices(vertices, np.concatenate([triangles, triangles + 49, triangles + 98]), CAMERA)
    assert seen[:49].all()
    landing_x = back[:, 0] * 0.5 / 0.6  # where a back vertex's ray crosses the front square's depth
    assert not seen[49:98][landing_x > front[:, 0].min() + 1e-3].any()
    assert seen[49:98][landing_x < front[:, 0].min() - 1e-3].all()
    assert not seen[98:].any()


def test_rasterized_depth_is_exact_on_a_tilted_plane() -> None:
    grid, triangles = _grid(21)
    xy = 0.1 * grid  # a 20 cm square on the plane z = 0.5 + 0.3 x
    vertices = np.column_stack([xy, 0.5 + 0.3 * xy[:, 0]])
    depth = rasterize_depth(vertices, triangles, CAMERA)
    v, u = np.nonzero(depth)
    a = (u - CAMERA.cx) / CAMERA.fx
    np.testing.assert_allclose(depth[v, u], 0.5 / (1 - 0.3 * a), rtol=1e-5)
    assert len(u) > 0.8 * (0.2 * 600 / 0.6) ** 2
    assert fit_error_mm(vertices, depth, CAMERA, triangles=triangles).max() < 0.8  # under a pixel


def test_vertex_error_of_a_shifted_mesh() -> None:
    mesh = np.random.default_rng(0).normal(size=(50, 3))
    errors = vertex_error_mm(mesh + [0.001, 0.002, -0.002], mesh)
    np.testing.assert_allclose(errors, 3.0)
    assert ErrorSummary.of(errors).to_dict() == {"mean": pytest.approx(3.0), "median": pytest.approx(3.0)}
    with pytest.raises(ValueError):
        vertex_error_mm(mesh, mesh[:10])


def test_similarity_align_recovers_a_known_similarity() -> None:
    rng = np.random.default_rng(1)
    source = rng.normal(size=(200, 3))
    rotation = Rotation.from_rotvec([0.3, -1.2, 0.5]).as_matrix()
    target = 1.7 * source @ rotation.T + [0.1, -0.2, 0.3]
    found = similarity_align(source, target)
    assert found.scale == pytest.approx(1.7)
    np.testing.assert_allclose(found.rotation, rotation, atol=1e-10)
    np.testing.assert_allclose(found.translation, [0.1, -0.2, 0.3], atol=1e-10)
    np.testing.assert_allclose(found.apply(source), target, atol=1e-10)
    rigid = similarity_align(source, target, with_scale=False)
    assert rigid.scale == 1.0
    np.testing.assert_allclose(rigid.rotation, rotation, atol=1e-10)


def test_similarity_align_never_reflects() -> None:
    rng = np.random.default_rng(2)
    source = rng.normal(size=(100, 3))
    mirrored = source * [-1.0, 1.0, 1.0]
    found = similarity_align(source, mirrored)
    assert np.linalg.det(found.rotation) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        similarity_align(source[:2], mirrored[:2])
