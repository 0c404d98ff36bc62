"""Depth refinement on exact depth maps (the face model z-buffered in numpy, no GL, no noise)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.refine import DepthRefiner, IdentityPrior, RefineConfig
from inference.refine.rotation import axis_angle_to_matrix
from models.camera import truedepth_intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.geometry import head_pose_to_camera
from models.metrics import rasterize_depth, vertex_error_mm

CAMERA = truedepth_intrinsics()
NARROW = REGION_SIZES["narrow_face"]


class Scene:
    """A face posed in front of the camera, its exact depth map and its narrow-face mesh."""

    def __init__(self, model: FaceModel, yaw_deg: float, pitch_deg: float, seed: int):
        rng = np.random.default_rng(seed)
        self.model = model
        self.identity = (0.8 * rng.standard_normal(model.num_identity)).astype(np.float32)
        self.expression = np.zeros(model.num_expression, dtype=np.float32)
        names = model.expression_names
        for name, weight in (("jawOpen", 0.2), ("mouthSmile_L", 0.5), ("mouthSmile_R", 0.5), ("browInnerUp_L", 0.3)):
            self.expression[names.index(name)] = weight
        self.rotation = head_pose_to_camera(np.radians(yaw_deg), np.radians(pitch_deg), np.radians(4.0))
        self.translation = np.array([0.012, -0.008, 0.55])
        visible = model.vertices(self.identity, self.expression, region="visible").astype(np.float64)
        self.depth = rasterize_depth(visible @ self.rotation.T + self.translation,
                                     model.region("visible").triangles, CAMERA)
        self.truth = self.mesh(self.rotation, self.translation, self.identity, self.expression)

    def mesh(self, rotation, translation, identity, expression) -> np.ndarray:
        head = self.model.vertices(identity, expression, region="narrow_face").astype(np.float64)
        return head @ np.asarray(rotation).T + np.asarray(translation)

    def error_mm(self, result) -> float:
        return float(vertex_error_mm(self.mesh(result.rotation, result.translation, result.identity,
                                               result.expression), self.truth).mean())

    def perturbed(self, rng: np.random.Generator, degrees: float = 4.0, millimetres: float = 8.0):
        """A warm start off by ``degrees`` about a random axis and ``millimetres`` in a random
        direction, with noisy expression and identity (about 1 mm of shape error)."""
        axis = rng.standard_normal(3)
        turn = axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.radians(degrees))
        shift = rng.standard_normal(3)
        translation = self.translation + shift / np.linalg.norm(shift) * millimetres / 1000
        expression = np.clip(self.expression + rng.normal(0, 0.1, self.expression.shape), 0, 1)
        identity = self.identity + rng.normal(0, 0.35, self.identity.shape)
        return turn @ self.rotation, translation, identity.astype(np.float32), expression.astype(np.float32)


@pytest.fixture(scope="module")
def refiner(face_model: FaceModel) -> DepthRefiner:
    return DepthRefiner(face_model)


@pytest.fixture(scope="module", params=[(0.0, 0.0), (30.0, -10.0), (-35.0, 15.0)], ids=["frontal", "left", "right-up"])
def scene(request, face_model: FaceModel) -> Scene:
    yaw, pitch = request.param
    return Scene(face_model, yaw, pitch, seed=int(abs(yaw)) + 1)


def test_ground_truth_is_nearly_a_fixed_point(refiner: DepthRefiner, scene: Scene) -> None:
    result = refiner.refine(scene.depth, CAMERA, scene.rotation, scene.translation, scene.identity,
                            scene.expression)
    assert result.success, result.reason
    assert result.residual_mm < 0.15
    assert scene.error_mm(result) < 0.6
    assert result.iterations == refiner.config.iterations
    assert result.valid_points > 0.3 * len(refiner.subset)


def test_perturbed_start_converges_to_the_true_face(refiner: DepthRefiner, scene: Scene) -> None:
    rng = np.random.default_rng(11)
    for _ in range(2):
        start = scene.perturbed(rng)
        before = float(vertex_error_mm(scene.mesh(*start[:2], start[2], start[3]), scene.truth).mean())
        result = refiner.refine(scene.depth, CAMERA, *start)
        assert result.success, result.reason
        after = scene.error_mm(result)
        assert before > 4.0
        assert after < 0.8, f"{before:.2f} mm -> {after:.2f} mm"


def test_outputs_have_the_documented_types_and_bounds(refiner: DepthRefiner, scene: Scene) -> None:
    wild_expression = np.linspace(-0.5, 1.5, scene.model.num_expression).astype(np.float32)
    result = refiner.refine(scene.depth, CAMERA, scene.rotation, scene.translation, scene.identity,
                            wild_expression)
    assert result.rotation.shape == (3, 3) and result.rotation.dtype == np.float64
    assert np.allclose(result.rotation @ result.rotation.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(result.rotation) == pytest.approx(1.0)
    assert result.translation.shape == (3,) and result.translation.dtype == np.float64
    assert result.identity.shape == (100,) and result.identity.dtype == np.float32
    assert result.expression.shape == (53,) and result.expression.dtype == np.float32
    assert result.expression.min() >= 0.0 and result.expression.max() <= 1.0


def test_a_frozen_identity_prior_holds_identity(refiner: DepthRefiner, scene: Scene) -> None:
    held = (scene.identity + 0.1).astype(np.float32)
    prior = IdentityPrior(held, np.eye(100), frozen=True)
    result = refiner.refine(scene.depth, CAMERA, scene.rotation, scene.translation, scene.identity,
                            scene.expression, identity_prior=prior)
    assert result.success
    np.testing.assert_array_equal(result.identity, held)


def test_an_identity_observation_is_symmetric_and_positive(refiner: DepthRefiner, scene: Scene) -> None:
    result = refiner.refine(scene.depth, CAMERA, scene.rotation, scene.translation, scene.identity,
                            scene.expression, observe_identity=True)
    observation = result.identity_observation
    assert observation is not None
    assert observation.information.shape == (100, 100) and observation.vector.shape == (100,)
    np.testing.assert_allclose(observation.information, observation.information.T, atol=1e-12)
    assert np.linalg.eigvalsh(observation.information).min() > 0
    # What the frame says about identity is close to the truth it was rendered from.
    estimate = np.linalg.solve(observation.information + 0.002 * np.eye(100), observation.vector)
    shape = scene.model.vertices(estimate, region="narrow_face")
    truth = scene.model.vertices(scene.identity, region="narrow_face")
    assert float(vertex_error_mm(shape, truth).mean()) < 0.8


@pytest.fixture(scope="module")
def frontal(face_model: FaceModel) -> Scene:
    return Scene(face_model, 0.0, 0.0, seed=1)


def _assert_failed_unchanged(result, start) -> None:
    assert not result.success and result.reason
    np.testing.assert_array_equal(result.rotation, start[0])
    np.testing.assert_array_equal(result.translation, start[1])
    np.testing.assert_array_equal(result.identity, start[2])
    assert np.isnan(result.residual_mm)


@pytest.mark.parametrize("kind", ["nan", "zeros", "far wall", "near wall", "few pixels", "wrong shape", "none"])
def test_depth_without_a_face_fails_cleanly(refiner: DepthRefiner, frontal: Scene, kind: str) -> None:
    depth = {
        "nan": np.full((480, 640), np.nan, np.float32),
        "zeros": np.zeros((480, 640), np.float32),
        "far wall": np.full((480, 640), 1.4, np.float32),
        "near wall": np.full((480, 640), 0.2, np.float32),
        "few pixels": np.where(np.random.default_rng(0).random((480, 640)) < 0.002, frontal.depth, 0),
        "wrong shape": np.ones((240, 320), np.float32),
        "none": None,
    }[kind]
    start = (frontal.rotation, frontal.translation, frontal.identity, frontal.expression)
    result = refiner.refine(depth, CAMERA, *start)
    _assert_failed_unchanged(result, start)


def test_a_warm_start_outside_the_view_fails_cleanly(refiner: DepthRefiner, frontal: Scene) -> None:
    for translation in ([0.0, 0.0, -0.5], [5.0, 0.0, 0.5], [np.nan, 0.0, 0.5]):
        start = (frontal.rotation, np.array(translation), frontal.identity, frontal.expression)
        result = refiner.refine(frontal.depth, CAMERA, *start)
        assert not result.success and result.reason


def test_config_changes_take_effect(face_model: FaceModel, frontal: Scene) -> None:
    refiner = DepthRefiner(face_model, RefineConfig(num_points=600, iterations=2, rigid_iterations=1,
                                                    robust_loss="huber", robust_k=1.345))
    assert len(refiner.subset) == 600
    result = refiner.refine(frontal.depth, CAMERA, frontal.rotation, frontal.translation, frontal.identity,
                            frontal.expression)
    assert result.success and result.iterations == 2
    assert frontal.error_mm(result) < 0.6
