"""The detail layer: a smooth per-vertex offset field from near-neutral depth, then held."""

from __future__ import annotations

import numpy as np
import pytest

from inference.refine.detail import DetailConfig, DetailLayer
from models.camera import Intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.geometry import head_pose_to_camera
from models.metrics import face_fit_error_mm, rasterize_depth
from models.normals import vertex_normals

CAMERA = Intrinsics(fx=590.0, fy=590.0, cx=319.5, cy=239.5, width=640, height=480)
NARROW = REGION_SIZES["narrow_face"]
NEUTRAL = np.zeros(53, np.float32)


@pytest.fixture(scope="module")
def actor(face_model: FaceModel):
    """The mean face (the fit) and the actor: the same face with a smooth 2 mm bump on one
    cheek, along the normals (what no identity mode of the fit holds)."""
    head = face_model.vertices(region="narrow_face").astype(np.float64)
    triangles = face_model.region("narrow_face").triangles
    normals = vertex_normals(head, triangles).astype(np.float64)
    centre = head[np.argmin(np.linalg.norm(head - [0.045, -0.01, head[:, 2].max() - 0.03], axis=1))]
    bump = 0.002 * np.exp(-np.sum((head - centre) ** 2, axis=1) / (2 * 0.012 ** 2))
    return head, head + bump[:, None] * normals, bump, triangles


def _depth(vertices: np.ndarray, triangles: np.ndarray, yaw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rotation = head_pose_to_camera(np.radians(yaw), np.radians(-4.0), 0.0)
    translation = np.array([0.0, 0.0, 0.5])
    return rasterize_depth(vertices @ rotation.T + translation, triangles, CAMERA), rotation, translation


def test_the_layer_learns_the_actors_bump_and_then_holds_it(face_model: FaceModel, actor) -> None:
    head, true_head, bump, triangles = actor
    layer = DetailLayer(face_model, DetailConfig(settle_frames=6))
    for yaw in (-10, -5, 0, 5, 10, 15):
        depth, rotation, translation = _depth(true_head, triangles, yaw)
        assert layer.observe(depth, CAMERA, rotation, translation, head, NEUTRAL)
    assert layer.settled
    offsets_mm = layer.offsets_m * 1000
    peak = np.argmax(bump)
    assert offsets_mm[peak] == pytest.approx(2.0, abs=0.5)
    far = bump < 1e-5
    assert np.percentile(np.abs(offsets_mm[far]), 90) < 0.3  # the rest stays put
    # Applied, the fit error on the actor's depth falls.
    depth, rotation, translation = _depth(true_head, triangles, 0)
    before = face_fit_error_mm(face_model, head @ rotation.T + translation, depth, CAMERA)
    detailed = layer.apply(head).astype(np.float64)
    after = face_fit_error_mm(face_model, detailed @ rotation.T + translation, depth, CAMERA)
    near = bump[:NARROW] > 0.001
    assert after.mean() < before.mean()
    assert np.abs(detailed - true_head)[near].max() < 0.0007
    # Settled: a later frame changes nothing.
    held = layer.offsets_m.copy()
    assert not layer.observe(depth * 0.98, CAMERA, rotation, translation, head, NEUTRAL)
    np.testing.assert_array_equal(layer.offsets_m, held)


def test_expressions_and_occluders_are_not_learned(face_model: FaceModel, actor) -> None:
    head, true_head, _, triangles = actor
    layer = DetailLayer(face_model, DetailConfig(settle_frames=4))
    depth, rotation, translation = _depth(head, triangles, 0)  # the actor is the fit: no detail
    smiling = NEUTRAL.copy()
    smiling[10] = 0.8
    assert not layer.observe(depth, CAMERA, rotation, translation, head, smiling)  # not near neutral
    assert layer.frames == 0
    hand = depth.copy()
    hand[200:300, 250:330] = np.where(hand[200:300, 250:330] > 0, hand[200:300, 250:330] - 0.04, 0)  # 4 cm in front
    holes = depth.copy()
    holes[:, ::2] = 0  # half the depth missing
    for frame in (depth, hand, holes, depth):
        layer.observe(frame, CAMERA, rotation, translation, head, NEUTRAL)
    assert layer.settled
    clean = DetailLayer(face_model, DetailConfig(settle_frames=4))
    for _ in range(4):
        clean.observe(depth, CAMERA, rotation, translation, head, NEUTRAL)
    # Nothing learned from the hand or the holes; from clean depth, only the pixel grid.
    assert np.abs(layer.offsets_m - clean.offsets_m).max() * 1000 < 0.15
    assert np.percentile(np.abs(clean.offsets_m), 99) * 1000 < 0.3
    layer.reset()
    assert not layer.settled and layer.frames == 0 and not layer.offsets_m.any()
