"""Fixtures of the training tests: a tiny configuration and a fabricated batch (no GL)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.crop import CropRecipe, FaceCrop, crop_camera
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera
from training.config import load_config
from training.data.sample import Batch, Sample, collate

SIZE = 64


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two threads collapse under contention."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_config():
    """The smoke configuration (64 px crops, a half-width MobileNetV3-Small)."""
    return load_config("smoke")


@pytest.fixture(scope="session")
def smoke_assets(tmp_path_factory, tiny_config):
    """Exported smoke branches after a few training steps (BatchNorm statistics away from their
    init); renders, so only for tests marked gl."""
    from training.export import export_run
    from training.loop import train

    root = tmp_path_factory.mktemp("smoke-assets")
    train(tiny_config, root / "run", device="cpu", max_steps=3)
    export_run(root / "run", root / "assets")
    return root / "assets"


def fabricated_sample(model: FaceModel, rng: np.random.Generator, recipe: CropRecipe) -> Sample:
    """A synthetic-like sample whose ground truth is consistent (mesh = posed linear model),
    with random images: enough to run every loss without rendering."""
    identity = rng.standard_normal(model.num_identity).astype(np.float32)
    expression = rng.uniform(0, 0.3, model.num_expression).astype(np.float32)
    rotation = head_pose_to_camera(rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2))
    translation = np.array([rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02), 0.5])
    source = camera_source()
    camera = crop_camera(source, FaceCrop(160, 120, 300 * 0.26 / 0.4, 0.0), recipe.size)
    vertices = (model.vertices(identity, expression, "narrow_face") @ rotation.T + translation).astype(np.float32)
    landmarks_3d = vertices[model.landmark_indices]
    xyz = np.zeros((recipe.size, recipe.size, 3), np.float32)
    xyz[..., 2] = 0.45 + rng.normal(0, 0.01, (recipe.size, recipe.size))
    valid = rng.random((recipe.size, recipe.size)) > 0.2
    anchor = recipe.xyz_anchor(xyz, valid, camera)
    rgb_crop = rng.integers(0, 255, (recipe.size, recipe.size, 3), dtype=np.uint8)
    k = camera.intrinsics
    return Sample(
        kind="synthetic",
        intrinsics=np.array([k.fx, k.fy, k.cx, k.cy], np.float32),
        rgb_anchor=recipe.rgb_anchor(camera).astype(np.float32),
        rgb=recipe.normalize_rgb(rgb_crop),
        rgb_crop=rgb_crop,
        xyz=recipe.normalize_xyz(xyz, valid, anchor),
        xyz_anchor=anchor.astype(np.float32),
        landmarks_2d=k.project(landmarks_3d.astype(np.float64)).astype(np.float32),
        landmarks_3d=landmarks_3d,
        scan_points=vertices[rng.choice(vertices.shape[0], 256, replace=False)],
        identity=identity,
        expression=expression,
        rotation=rotation.astype(np.float32),
        translation=translation.astype(np.float32),
        albedo=rng.standard_normal(10).astype(np.float32),
        lighting=(rng.standard_normal((9, 3)) * 0.2).astype(np.float32),
        vertices=vertices,
    )


def camera_source():
    from models.camera import Intrinsics

    return Intrinsics(fx=300.0, fy=300.0, cx=159.5, cy=119.5, width=320, height=240)


@pytest.fixture()
def tiny_batch(face_model: FaceModel, tiny_config) -> Batch:
    rng = np.random.default_rng(0)
    recipe = tiny_config.crop
    torch.manual_seed(0)
    return collate([fabricated_sample(face_model, rng, recipe) for _ in range(3)])
