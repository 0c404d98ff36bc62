"""The pieces of depth refinement: rotations, solves, robust weights, fitting subset, depth target, config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from inference.refine import IdentityConfig, RefineConfig, robust
from inference.refine.depth_target import DepthTarget, face_window
from inference.refine.rotation import axis_angle_to_matrix, orthonormalize, rotation_angle_deg
from inference.refine.solver import damped_solve, marginal_information
from inference.refine.subset_model import SubsetModel
from inference.refine.vertex_subset import boundary_loops, farthest_point_sampling, select_fit_vertices
from models.camera import Intrinsics
from models.face_model import REGION_SIZES, FaceModel

CAMERA = Intrinsics(fx=600.0, fy=610.0, cx=322.5, cy=236.5, width=640, height=480)


def test_axis_angle_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for omega in [*rng.normal(size=(5, 3)), np.array([1e-10, 0.0, -2e-10]), np.zeros(3)]:
        np.testing.assert_allclose(axis_angle_to_matrix(omega), Rotation.from_rotvec(omega).as_matrix(), atol=1e-12)
    turn = axis_angle_to_matrix(np.array([0.0, 0.0, np.radians(30.0)]))
    assert rotation_angle_deg(turn, np.eye(3)) == pytest.approx(30.0)
    noisy = turn + 1e-3 * rng.normal(size=(3, 3))
    fixed = orthonormalize(noisy)
    np.testing.assert_allclose(fixed @ fixed.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(fixed) == pytest.approx(1.0)


def _quadratic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3 * n, n))
    return a.T @ a + 0.1 * np.eye(n), rng.normal(size=n)


def test_undamped_solve_is_the_newton_step() -> None:
    hessian, gradient = _quadratic(8, 1)
    step = damped_solve(hessian, gradient, 0.0)
    np.testing.assert_allclose(step, -np.linalg.solve(hessian, gradient), rtol=1e-9)
    damped = damped_solve(hessian, gradient, 10.0)
    assert np.linalg.norm(damped) < np.linalg.norm(step)


def test_bounded_solve_holds_active_bounds_and_stays_in_the_box() -> None:
    hessian = np.eye(4)
    gradient = np.array([1.0, -1.0, 0.5, -3.0])  # the step is -gradient
    values = np.array([0.0, 1.0, 0.2, 0.5])
    step = damped_solve(hessian, gradient, 0.0, bounded=slice(0, 4), values=values)
    # unknown 0 sits at 0 and is pushed below: held; 1 at 1 pushed above: held;
    # 2 moves freely to -0.3 and is clipped at 0; 3 moves to 3.5 and is clipped at 1.
    np.testing.assert_allclose(values + step, [0.0, 1.0, 0.0, 1.0])


def test_marginal_information_matches_the_joint_minimum() -> None:
    hessian, gradient = _quadratic(10, 2)
    keep = slice(6, 10)
    information, vector = marginal_information(hessian, gradient, keep)
    joint = -np.linalg.solve(hessian, gradient)
    np.testing.assert_allclose(np.linalg.solve(information, vector), joint[keep], rtol=1e-8)
    np.testing.assert_allclose(information, information.T)
    # Holding unknowns at zero is conditioning on them, not marginalising.
    held = np.zeros(10, dtype=bool)
    held[[0, 3]] = True
    information, vector = marginal_information(hessian, gradient, keep, held)
    free = ~held
    conditional = -np.linalg.solve(hessian[np.ix_(free, free)], gradient[free])
    np.testing.assert_allclose(np.linalg.solve(information, vector), conditional[-4:], rtol=1e-8)


def test_robust_weights_and_losses() -> None:
    r = np.array([0.0, 1.0, 3.0, 10.0], dtype=np.float32)
    tukey = robust.weights(r, 4.0, "tukey")
    np.testing.assert_allclose(tukey, [1.0, (1 - 1 / 16) ** 2, (1 - 9 / 16) ** 2, 0.0], rtol=1e-6)
    huber = robust.weights(r, 2.0, "huber")
    np.testing.assert_allclose(huber, [1.0, 1.0, 2 / 3, 0.2], rtol=1e-6)
    assert robust.loss_sum(np.array([0.01]), 4.0, "tukey") == pytest.approx(0.5e-4, rel=1e-3)
    assert robust.loss_sum(np.array([100.0]), 4.0, "tukey") == pytest.approx(16 / 6)
    assert robust.loss_sum(np.array([3.0]), 2.0, "huber") == pytest.approx(2.0 * (3.0 - 1.0))
    assert robust.robust_sigma(np.array([1.0, -1.0, 1.0]), 0.1) == pytest.approx(1.4826)
    assert robust.robust_sigma(np.zeros(0), 0.3) == 0.3


def test_farthest_point_sampling_spreads_points() -> None:
    grid = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0), [0.0]), axis=-1).reshape(-1, 3)
    chosen = farthest_point_sampling(grid, 4)
    assert len(set(chosen.tolist())) == 4
    assert np.min(cKDTree(grid[chosen]).query(grid[chosen], k=2)[0][:, 1]) > 4.0
    np.testing.assert_array_equal(farthest_point_sampling(grid, 200), np.arange(100))


def test_fitting_subset_keeps_clear_of_eyes_mouth_and_border(face_model: FaceModel) -> None:
    region = face_model.region("narrow_face")
    template = face_model.template[: region.num_vertices]
    loops = boundary_loops(region.triangles, region.num_vertices)
    assert len(loops) == 4  # the outer border, two eyes and the mouth
    chosen = select_fit_vertices(face_model, 1500, eye_margin_mm=5.0, mouth_margin_mm=6.0, border_margin_mm=3.0)
    assert len(chosen) == 1500 and np.all(np.diff(chosen) > 0) and chosen.max() < REGION_SIZES["narrow_face"]
    mouth, *eyes = sorted(loops[1:], key=lambda loop: template[loop, 1].mean())
    for loop, margin in ((mouth, 0.006), (eyes[0], 0.005), (eyes[1], 0.005), (loops[0], 0.003)):
        distance = cKDTree(template[loop]).query(template[chosen])[0]
        assert distance.min() >= margin - 1e-6
    np.testing.assert_array_equal(chosen, select_fit_vertices(face_model, 1500, 5.0, 6.0, 3.0))


def test_subset_model_matches_the_face_model(face_model: FaceModel) -> None:
    indices = select_fit_vertices(face_model, 300)
    subset = SubsetModel(face_model, indices)
    rng = np.random.default_rng(3)
    identity = rng.normal(size=100).astype(np.float32)
    expression = rng.uniform(0, 1, 53).astype(np.float32)
    expected = face_model.vertices(identity, expression, region="narrow_face")[indices] * 1000
    got = subset.vertices(subset.identity_offset(identity), expression).T
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # Jacobian rows: the derivative of n . v_i along each coefficient.
    normals = rng.normal(size=(3, 5)).astype(np.float32)
    rows = np.array([0, 7, 42, 100, 299])
    out = np.empty((5, 53), np.float32)
    subset.expression_jacobian(normals, rows, out)
    basis = face_model.expression_basis[:, indices[rows]] * 1000  # (53, 5, 3)
    np.testing.assert_allclose(out, np.einsum("kmc,cm->mk", basis, normals), rtol=1e-4, atol=1e-4)
    assert np.all(subset.normals[2].mean() > 0.3)  # normals leave the face (+z in the head frame)


def _plane_depth(z0: float, slope_x: float = 0.0) -> np.ndarray:
    """Depth (m) of the plane z = z0 + slope_x * x seen by CAMERA."""
    a = (np.arange(640) - CAMERA.cx) / CAMERA.fx
    z = z0 / (1.0 - slope_x * a)
    return np.broadcast_to(z[None, :], (480, 640)).astype(np.float32).copy()


def test_depth_target_gives_exact_points_and_normals_on_a_plane() -> None:
    slope = 0.5
    depth = _plane_depth(0.5, slope)
    target = DepthTarget.build(depth, CAMERA, (200, 150, 400, 330), window_px=5, step_px=2)
    points = np.array([[0.0, 10.0, -20.0], [0.0, -15.0, 30.0], [500.0, 490.0, 510.0]], dtype=np.float32)
    match = target.associate(points)
    assert match.ok.all()
    expected_normal = np.array([slope, 0.0, -1.0]) / np.hypot(slope, 1.0)
    np.testing.assert_allclose(match.normals.T, np.tile(expected_normal, (3, 1)), atol=2e-3)
    # The matched points lie on the plane z = 500 + slope * x (mm).
    np.testing.assert_allclose(match.points[2], 500.0 + slope * match.points[0], atol=0.05)


def test_depth_target_rejects_holes_edges_and_outside_points() -> None:
    depth = _plane_depth(0.5)
    depth[200:230, 300:330] = np.nan  # a hole
    depth[:, 360:] = 0.9  # a step 40 cm back
    target = DepthTarget.build(depth, CAMERA, (250, 150, 420, 300), window_px=5, step_px=2)
    def at(u: float, v: float, z: float = 500.0) -> np.ndarray:
        return np.array([[(u - CAMERA.cx) * z / CAMERA.fx], [(v - CAMERA.cy) * z / CAMERA.fy], [z]], np.float32)
    columns = [at(315, 215), at(359, 200), at(280, 170), at(600, 200), at(280, 170, -5.0)]
    match = target.associate(np.concatenate(columns, axis=1))
    np.testing.assert_array_equal(match.ok, [False, False, True, False, False])
    assert np.all(match.points[:, ~match.ok] == 0) and np.all(match.normals[:, ~match.ok] == 0)
    assert DepthTarget.build(np.zeros((480, 640), np.float32), CAMERA, (0, 0, 640, 480)) is None


def test_face_window_adds_a_margin_and_clips_to_the_image() -> None:
    points = np.array([[-10.0, 10.0], [-10.0, 10.0], [500.0, 500.0]], np.float32)
    u0, v0, u1, v1 = face_window(points, CAMERA, margin_px=20)
    assert u0 < 322.5 - 12 - 19 and u1 > 322.5 + 12 + 19 and v0 >= 0 and v1 <= 480
    assert face_window(np.array([[0.0], [0.0], [-1.0]], np.float32), CAMERA, 20) is None
    assert face_window(np.array([[5000.0], [0.0], [500.0]], np.float32), CAMERA, 20) is None


def test_config_defaults_are_pinned() -> None:
    config = RefineConfig()
    assert dataclasses.asdict(config) == {
        "num_points": 2500, "eye_margin_mm": 5.0, "mouth_margin_mm": 6.0, "border_margin_mm": 3.0,
        "iterations": 6, "rigid_iterations": 2, "damping": 1e-4,
        "normal_window_px": 5, "normal_step_px": 2, "roi_margin_px": 24, "max_distance_mm": 25.0,
        "max_grazing_deg": 78.0, "max_normal_angle_deg": 50.0, "max_backface_deg": 80.0,
        "edge_jump_mm": 8.0, "robust_loss": "tukey", "robust_k": 4.685, "min_sigma_mm": 0.3,
        "expression_prior_weight": 0.05, "expression_zero_weight": 0.001,
        "identity_prior_weight": 0.002, "identity_zero_weight": 0.002, "solve_identity": True,
        "min_valid_points": 200, "min_inlier_fraction": 0.25, "max_residual_mm": 4.0,
        "max_translation_change_mm": 60.0, "max_rotation_change_deg": 35.0,
        "identity": {"forgetting": 0.97, "prior_weight": 0.002, "information_scale": 1.0, "observe_every": 3,
                     "observe_all_first": 30,
                     "converge_frames": 10, "converge_tolerance": 0.05, "converge_window": 3,
                     "freeze_when_converged": False},
        "steady": {"iterations": 4, "rigid_iterations": 1, "max_motion_mm": 4.0, "max_rotation_deg": 2.0,
                   "max_expression": 0.15},
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.iterations = 9  # type: ignore[misc]


@pytest.mark.parametrize("bad", [dict(iterations=0), dict(num_points=10), dict(robust_loss="cauchy"),
                                 dict(normal_window_px=4), dict(max_grazing_deg=0), dict(identity_prior_weight=-1)])
def test_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        RefineConfig(**bad)


@pytest.mark.parametrize("bad", [dict(forgetting=0.0), dict(forgetting=1.5), dict(prior_weight=0), dict(observe_every=0)])
def test_identity_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        IdentityConfig(**bad)
