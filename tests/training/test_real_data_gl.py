"""Scans rendered to RGB-D through the speckle simulation, and a batch mixing every source kind
through one training step (forward and backward, smoke configuration, CPU)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from capture.r3d_synthetic import write_synthetic_take
from models.camera import Intrinsics
from models.geometry import head_pose_to_camera
from training.config import SourceConfig
from training.data.face_crops import FaceShape
from training.data.rgb_folder import RgbImageFolder
from training.data.rgbd_sequences import RgbdSequences
from training.data.sample import collate
from training.data.scans import ScanSource
from training.data.sources import MixedDataset, build_dataset
from training.data.synthetic import SyntheticGenerator
from training.schedule import ENCODER
from training.system import build_system

pytestmark = [pytest.mark.gl]


@pytest.fixture(scope="module")
def shape(face_model) -> FaceShape:
    return FaceShape.from_face_model(face_model)


def write_head_obj(path, face_model, millimetres: bool = True) -> None:
    """The mean face ("head" region: face, ears, neck) as an OBJ scan in the head frame, with
    its 68 landmarks beside it, both in millimetres."""
    region = face_model.region("head")
    scale = 1000.0 if millimetres else 1.0
    vertices = face_model.template[: region.triangles.max() + 1].astype(np.float64) * scale
    lines = [f"v {x:.4f} {y:.4f} {z:.4f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in region.triangles]
    path.write_text("\n".join(lines) + "\n")
    np.savetxt(path.with_suffix(".txt"), vertices[face_model.landmark_indices])


def write_head_ply(path, face_model) -> None:
    """The mean face in metres as a binary PLY with vertex colours (no landmarks)."""
    region = face_model.region("head")
    vertices = face_model.template[: region.triangles.max() + 1].astype("<f4")
    colours = np.tile(np.array([[200, 150, 130]], np.uint8), (len(vertices), 1))
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\nproperty float x\n"
              "property float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
              f"element face {len(region.triangles)}\nproperty list uchar int vertex_indices\nend_header\n")
    table = np.zeros(len(vertices), [("p", "<f4", 3), ("c", "u1", 3)])
    table["p"], table["c"] = vertices, colours
    faces = np.zeros(len(region.triangles), [("n", "u1"), ("i", "<i4", 3)])
    faces["n"], faces["i"] = 3, region.triangles
    path.write_bytes(header.encode() + table.tobytes() + faces.tobytes())


def test_scan_renders_to_speckle_rgbd(tmp_path, face_model, shape, tiny_config) -> None:
    write_head_obj(tmp_path / "head.obj", face_model)
    write_head_ply(tmp_path / "coloured.ply", face_model)
    still = dataclasses.replace(tiny_config.data, crop_centre_jitter=0.0, crop_scale_jitter=0.0)
    recipe = tiny_config.crop
    source = ScanSource(tmp_path, still, recipe, shape)  # units: auto (mm for the OBJ, m for the PLY)
    assert len(source) == 2 and source.landmarks[1] is not None and source.landmarks[0] is None
    rng = np.random.default_rng(3)
    try:
        sample = source.sample(1, rng)  # head.obj, with landmarks
        size = recipe.size
        assert sample.kind == "scan" and sample.rgb.shape == (3, size, size) and sample.xyz.shape == (4, size, size)
        assert sample.rgb_crop is None  # no colours: no colour term
        assert sample.scan_points.shape == (still.scan_points, 3) and sample.scan_points.dtype == np.float32
        assert sample.landmarks_3d.shape == (68, 3) and sample.identity is None
        # the speckle capture matched most of the face, and its points lie on the scan (metres)
        xyz, valid = recipe.denormalize_xyz(sample.xyz, sample.xyz_anchor)
        centre = valid[size // 4: 3 * size // 4, size // 4: 3 * size // 4]
        assert centre.mean() > 0.5
        measured = xyz[size // 4: 3 * size // 4, size // 4: 3 * size // 4][centre]
        distances, _ = cKDTree(sample.scan_points).query(measured)
        assert np.median(distances) < 0.006
        assert 0.2 < sample.xyz_anchor[2] < 0.9
        # the crop is centred on the landmark centroid, spanning 0.26 m at its depth
        landmarks = sample.landmarks_3d.astype(np.float64)
        k = sample.intrinsics
        centroid = landmarks.mean(axis=0)
        np.testing.assert_allclose(centroid[:2] / centroid[2] * k[:2] + k[2:], [(size - 1) / 2] * 2, atol=0.05)
        assert k[0] * 0.26 / size == pytest.approx(centroid[2], rel=1e-4)

        coloured = source.sample(0, rng)
        assert coloured.rgb_crop is not None and coloured.landmarks_3d is None
        assert recipe.denormalize_xyz(coloured.xyz, coloured.xyz_anchor)[1].mean() > 0.2
    finally:
        source.close()


def test_a_mixed_batch_trains(tmp_path, face_model, shape, tiny_config) -> None:
    """One sample of every kind in one batch: the loss runs the terms each kind feeds, and the
    gradient reaches the network."""
    data, recipe = tiny_config.data, tiny_config.crop
    # an RGB image with landmarks
    camera = Intrinsics.from_fov(160, 120, 60.0)
    head = face_model.template[face_model.landmark_indices].astype(np.float64)
    points = (head - head.mean(axis=0)) @ head_pose_to_camera(0.2, 0.0, 0.0).T + [0.0, 0.0, 0.5]
    (tmp_path / "rgb").mkdir()
    cv2.imwrite(str(tmp_path / "rgb" / "a.jpg"), np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8))
    np.savetxt(tmp_path / "rgb" / "a.txt", camera.project(points))
    write_synthetic_take(tmp_path / "take.r3d", 2, 64, 48)
    (tmp_path / "scans").mkdir()
    write_head_obj(tmp_path / "scans" / "head.obj", face_model)

    sources = (SourceConfig("synthetic"), SourceConfig("rgb", str(tmp_path / "rgb")),
               SourceConfig("rgbd", str(tmp_path / "take.r3d")), SourceConfig("scan", str(tmp_path / "scans")))
    mixed_data = dataclasses.replace(data, sources=sources)
    dataset = build_dataset(mixed_data, recipe, seed=0)
    assert isinstance(dataset, MixedDataset)
    stream = iter(dataset)
    assert {next(stream).kind for _ in range(8)} <= {"synthetic", "rgb", "rgbd", "scan"}

    rng = np.random.default_rng(1)
    scans = ScanSource(tmp_path / "scans", data, recipe, shape)
    samples = [
        SyntheticGenerator(data, recipe, face_model).sample(rng),
        RgbImageFolder(tmp_path / "rgb", data, recipe, shape).sample(0, rng),
        RgbdSequences(tmp_path / "take.r3d", data, recipe, shape).sample(1, rng),
        scans.sample(0, rng),
    ]
    scans.close()
    batch = collate(samples)
    assert batch.kinds == ["synthetic", "rgb", "rgbd", "scan"]
    assert batch.has("xyz").tolist() == [True, False, True, True]
    assert batch.has("identity").tolist() == [True, False, False, False]
    assert batch.has("scan_points").tolist()[1:] == [False, False, True]

    torch.manual_seed(0)
    system = build_system(tiny_config, face_model)
    loss, logs = system(batch, ENCODER)
    assert torch.isfinite(loss) and loss.item() > 0
    for term in ("rgb/landmarks_2d", "rgb/colour", "rgb/cross_rgb", "depth/geometry", "depth/cross_scan",
                 "rgbd/landmarks_3d", "rgbd/vertex"):
        assert term in logs and np.isfinite(logs[term]), term
    loss.backward()
    grads = [p.grad for p in system.net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
