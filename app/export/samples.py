"""Synthetic FaceResult sequences for tests, benchmarks and demos of the exporters.

The face model posed along a smooth head motion with a varying expression, as the pipeline
would report it: camera OpenCV frame, metres, face-region vertices in face-model order.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from app.export.mesh import EXPORT_REGION
from models.camera import Intrinsics, truedepth_intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.face_result import FaceResult
from models.geometry import head_pose_to_camera


def synthetic_results(model: FaceModel, num_frames: int, fps: float = 30.0, *, seed: int = 0,
                      missing: Collection[int] = (), start_index: int = 0,
                      intrinsics: Intrinsics | None = None) -> list[FaceResult]:
    """``num_frames`` results with indices ``start_index, start_index + 1, ...``.

    Frames whose index is in ``missing`` have ``found=False`` and hold the previous face's arrays
    (None before the first face), as the pipeline reports them.
    """
    rng = np.random.default_rng(seed)
    intrinsics = intrinsics or truedepth_intrinsics()
    identity = rng.normal(0, 0.7, model.num_identity).astype(np.float32)
    n = REGION_SIZES[EXPORT_REGION]
    neutral = model.vertices(identity, None, region=EXPORT_REGION)
    basis = model.expression_basis[:, :n].reshape(model.num_expression, -1)
    phases = rng.uniform(0, 2 * np.pi, model.num_expression)
    rates = rng.uniform(0.2, 1.5, model.num_expression)
    results: list[FaceResult] = []
    held: FaceResult | None = None
    for k in range(num_frames):
        index = start_index + k
        t = index / fps
        timestamp = float(t)
        if index in missing:
            results.append(FaceResult(
                index=index, timestamp=timestamp, intrinsics=intrinsics, found=False,
                rotation=None if held is None else held.rotation,
                translation=None if held is None else held.translation,
                identity=None if held is None else held.identity,
                expression=None if held is None else held.expression,
                vertices=None if held is None else held.vertices,
                landmarks_3d=None if held is None else held.landmarks_3d,
                landmarks_2d=None if held is None else held.landmarks_2d, mode="rgbd"))
            continue
        expression = (0.5 + 0.5 * np.sin(rates * 2 * np.pi * t * 0.5 + phases)).astype(np.float32)
        yaw, pitch, roll = 0.5 * np.sin(0.7 * t), 0.25 * np.sin(1.1 * t + 1), 0.2 * np.sin(0.5 * t + 2)
        rotation = head_pose_to_camera(yaw, pitch, roll)
        translation = np.array([0.03 * np.sin(0.9 * t), -0.02 * np.cos(0.6 * t), 0.45 + 0.05 * np.sin(0.3 * t)])
        head = neutral + (expression @ basis).reshape(n, 3)
        vertices = (head.astype(np.float64) @ rotation.T + translation).astype(np.float32)
        landmarks_3d = np.ascontiguousarray(vertices[model.landmark_indices])
        held = FaceResult(
            index=index, timestamp=timestamp, intrinsics=intrinsics, found=True, rotation=rotation,
            translation=translation, identity=identity, expression=expression, vertices=vertices,
            landmarks_3d=landmarks_3d, landmarks_2d=intrinsics.project(landmarks_3d).astype(np.float32),
            mode="rgbd")
        results.append(held)
    return results
