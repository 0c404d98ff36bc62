"""Real-data loaders on tiny fixtures made here: landmark and camera files, RGB image folders,
RGB-D sequences (.r3d and PNG depth folders), scan files; and data.sources in the configuration.
(Scan rendering and a mixed training step: test_real_data_gl.py.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import cv2
import numpy as np
import pytest

from capture.r3d_synthetic import synthetic_intrinsics, write_synthetic_take
from models.camera import Intrinsics
from models.crop import crop_from_point
from models.geometry import head_pose_to_camera
from training.config import (
    ConfigError,
    SourceConfig,
    TrainConfig,
    config_hash,
    from_dict,
    load_config,
    save_config,
    to_dict,
)
from training.data.camera_file import read_camera_file
from training.data.errors import DataError
from training.data.face_crops import FaceShape, landmark_crop, nearest_blob_crop
from training.data.landmark_files import read_landmarks
from training.data.rgb_folder import RgbImageFolder
from training.data.rgbd_sequences import RgbdSequences
from training.data.scan_io import read_obj, read_ply, read_scan
from training.data.sources import build_dataset
from training.data.synthetic import SyntheticDataset

CAMERA = Intrinsics.from_fov(200, 160, 60.0)


@pytest.fixture(scope="module")
def shape(face_model) -> FaceShape:
    return FaceShape.from_face_model(face_model)


@pytest.fixture(scope="module")
def still(tiny_config):
    """The smoke configuration's data settings without crop jitter (crops exactly where the rule says)."""
    return dataclasses.replace(tiny_config.data, crop_centre_jitter=0.0, crop_scale_jitter=0.0)


def posed_landmarks(face_model, camera: Intrinsics, depth: float, roll: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The mean face's 68 landmarks posed frontally (rolled by ``roll``) with their centroid at
    ``depth`` on the optical axis: ((68, 2) pixels, (3,) camera-frame centroid)."""
    head = face_model.template[face_model.landmark_indices].astype(np.float64)
    rotation = head_pose_to_camera(0.0, 0.0, roll)
    points = (head - head.mean(axis=0)) @ rotation.T + np.array([0.0, 0.0, depth])
    return camera.project(points), points.mean(axis=0)


def write_pts(path, points: np.ndarray) -> None:
    """The 300-W format: 1-based coordinates."""
    rows = "\n".join(f"{x + 1:.3f} {y + 1:.3f}" for x, y in points)
    path.write_text(f"version: 1\nn_points:  {len(points)}\n{{\n{rows}\n}}\n")


# -- files ---------------------------------------------------------------------------------------


def test_landmark_files(tmp_path) -> None:
    points = np.random.default_rng(0).uniform(0, 100, (68, 2)).astype(np.float32)
    write_pts(tmp_path / "a.pts", points)
    np.testing.assert_allclose(read_landmarks(tmp_path / "a.pts"), points, atol=1e-3)  # 1-based -> 0-based
    np.savetxt(tmp_path / "b.txt", points, delimiter=",")
    np.testing.assert_allclose(read_landmarks(tmp_path / "b.txt"), points, atol=1e-4)
    np.save(tmp_path / "c.npy", np.c_[points, points[:, :1]])
    assert read_landmarks(tmp_path / "c.npy", 3).shape == (68, 3)
    np.save(tmp_path / "d.npy", points[:5])
    with pytest.raises(DataError, match=r"expected 68x2 landmarks, got shape \(5, 2\)"):
        read_landmarks(tmp_path / "d.npy")
    with pytest.raises(DataError, match="3D landmarks are read from .txt, .npy"):
        read_landmarks(tmp_path / "a.pts", 3)


def test_camera_file(tmp_path) -> None:
    (tmp_path / "intrinsics.json").write_text(json.dumps(
        {"fx": 100.0, "fy": 101.0, "cx": 49.5, "cy": 39.5, "width": 100, "height": 80}))
    camera = read_camera_file(tmp_path / "intrinsics.json")
    assert camera.intrinsics == Intrinsics(100.0, 101.0, 49.5, 39.5, 100, 80) and camera.depth_scale == 0.001
    assert camera.for_size(200, 160) == camera.intrinsics.scaled(200, 160)
    (tmp_path / "bad.json").write_text(json.dumps({"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 10}))
    with pytest.raises(DataError, match="key 'height' must be a number"):
        read_camera_file(tmp_path / "bad.json")


# -- crops ---------------------------------------------------------------------------------------


def test_landmark_crop_matches_the_training_crop(face_model, shape) -> None:
    """A frontal mean face: the crop from 2D landmarks alone is the crop training makes around
    the 3D face centre (size within 5 %), and the angle turns a rolled face upright."""
    landmarks, centre = posed_landmarks(face_model, CAMERA, 0.6)
    crop = landmark_crop(landmarks, CAMERA, 0.26, shape)
    reference = crop_from_point(CAMERA, centre, 0.26)
    assert crop.centre_x == pytest.approx(reference.centre_x, abs=0.5)
    assert crop.centre_y == pytest.approx(reference.centre_y, abs=0.5)
    assert crop.size == pytest.approx(reference.size, rel=0.05) and crop.angle == pytest.approx(0.0, abs=1e-4)
    rolled, _ = posed_landmarks(face_model, CAMERA, 0.6, roll=math.pi / 2)
    assert abs(landmark_crop(rolled, CAMERA, 0.26, shape).angle) == pytest.approx(math.pi / 2, abs=1e-3)
    # with depth: the size comes from the depth under the centre (on the nose) plus the offset
    depth = np.full((CAMERA.height, CAMERA.width), 0.6 - shape.centre_behind_nose_m, np.float32)
    assert landmark_crop(landmarks, CAMERA, 0.26, shape, depth=depth).size == pytest.approx(reference.size, rel=1e-6)


def test_nearest_blob_crop(shape) -> None:
    depth = np.full((CAMERA.height, CAMERA.width), 1.5, np.float32)
    depth[40:100, 120:160] = 0.5  # the face: nearest
    depth[130:, :] = 0.9  # a larger blob behind the nearest band (the shoulders, a table)
    depth[:10, :10] = 0.0
    crop = nearest_blob_crop(depth, CAMERA, 0.26, shape, angle=0.5)
    assert (crop.centre_x, crop.centre_y) == pytest.approx((139.5, 69.5), abs=1e-6)
    assert crop.size == pytest.approx(CAMERA.fx * 0.26 / (0.5 + shape.centre_behind_nose_m), rel=1e-6)
    assert crop.angle == 0.5
    assert nearest_blob_crop(np.zeros_like(depth), CAMERA, 0.26, shape) is None


# -- rgb image folders ---------------------------------------------------------------------------


def test_rgb_folder_with_and_without_landmarks(tmp_path, face_model, shape, still, tiny_config) -> None:
    rng = np.random.default_rng(1)
    landmarks, centre = posed_landmarks(face_model, CAMERA, 0.5)
    image = rng.integers(0, 255, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image[..., ::-1])
    write_pts(tmp_path / "a.pts", landmarks)
    plain = np.zeros((100, 300, 3), np.uint8)
    plain[:, 100:200] = (200, 30, 40)  # the centred square is all this colour
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "b.png"), plain[..., ::-1])
    recipe = tiny_config.crop
    source = RgbImageFolder(tmp_path, still, recipe, shape, hfov_deg=60.0)
    assert len(source) == 2 and source.landmarks[1] is None
    size = recipe.size

    with_landmarks = source.sample(0, rng)
    assert with_landmarks.kind == "rgb" and with_landmarks.xyz is None and with_landmarks.xyz_anchor is None
    assert with_landmarks.rgb.shape == (3, size, size) and with_landmarks.rgb_crop.shape == (size, size, 3)
    assert with_landmarks.landmarks_2d.shape == (68, 2) and with_landmarks.identity is None
    # the landmark centroid sits at the crop centre; the crop spans 0.26 m at the face's depth
    np.testing.assert_allclose(with_landmarks.landmarks_2d.mean(axis=0), [(size - 1) / 2] * 2, atol=0.05)
    fx_crop = with_landmarks.intrinsics[0]
    assert fx_crop * 0.26 / size == pytest.approx(centre[2], rel=0.05)  # nominal depth ~ true depth
    assert with_landmarks.rgb_anchor[2] == pytest.approx(fx_crop * 0.26 / size, rel=1e-5)

    whole = source.sample(1, rng)
    assert whole.landmarks_2d is None
    assert np.abs(whole.rgb_crop[4:-4, 4:-4].astype(int) - (200, 30, 40)).max() <= 2  # the centre square
    assert whole.intrinsics[0] == pytest.approx(Intrinsics.from_fov(300, 100, 60.0).fx * size / 100, rel=1e-6)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .jpg, .jpeg or .png images"):
        RgbImageFolder(tmp_path / "empty", still, recipe, shape)


# -- rgb-d sequences -----------------------------------------------------------------------------


def test_rgbd_from_r3d(tmp_path, shape, still, tiny_config) -> None:
    """A tiny take written by the app's own recorder: the ellipsoid head is the nearest blob."""
    path = write_synthetic_take(tmp_path / "take.r3d", 5, 64, 48, depth_size=(32, 24))
    recipe = tiny_config.crop
    source = RgbdSequences(path, still, recipe, shape, stride=2, angle_deg=90.0)
    assert len(source) == 3 and [frame for _, frame in source.items] == [0, 2, 4]
    sample = source.sample(1, np.random.default_rng(0))
    size = recipe.size
    assert sample.kind == "rgbd" and sample.rgb.shape == (3, size, size) and sample.xyz.shape == (4, size, size)
    assert sample.rgb_crop.shape == (size, size, 3) and sample.landmarks_2d is None and sample.vertices is None
    xyz, valid = recipe.denormalize_xyz(sample.xyz, sample.xyz_anchor)
    assert valid.mean() > 0.5
    assert 0.38 < sample.xyz_anchor[2] < 0.52  # metres: the head is 0.41-0.5 m away, the wall 1.1-1.2 m
    assert np.median(xyz[valid][:, 2]) < 0.6
    # the crop camera: the source's focal length scaled to a crop spanning 0.26 m at the face centre
    k = synthetic_intrinsics(64, 48).scaled(32, 24)
    crop_size = k.fx * size / sample.intrinsics[0]
    nearest = 0.41
    assert crop_size == pytest.approx(k.fx * 0.26 / (nearest + shape.centre_behind_nose_m), rel=0.05)
    # angle_deg 90: the crop camera is turned a quarter about the optical axis
    source0 = RgbdSequences(path, still, recipe, shape)
    upright = source0.sample(1, np.random.default_rng(0))
    turned = np.rot90(upright.rgb_crop)
    assert np.abs(turned.astype(int) - sample.rgb_crop).mean() < np.abs(
        upright.rgb_crop.astype(int) - sample.rgb_crop).mean()
    source.close()


def write_png_take(folder, with_landmarks: np.ndarray | None = None) -> Intrinsics:
    """Two frames: a 0.45 m plane patch (the face) in front of a 1.2 m wall; colour at twice the
    depth resolution; optional landmarks for frame 0 (in colour pixels)."""
    camera = Intrinsics.from_fov(80, 60, 60.0)
    (folder / "depth").mkdir(parents=True)
    (folder / "rgb").mkdir()
    (folder / "intrinsics.json").write_text(json.dumps(camera.to_dict()))
    for index in range(2):
        depth = np.full((60, 80), 1200, np.uint16)
        depth[15:45, 25:55] = 450
        depth[0, 0] = 0
        cv2.imwrite(str(folder / "depth" / f"{index:06d}.png"), depth)
        colour = np.full((120, 160, 3), 90, np.uint8)
        colour[30:90, 50:110] = (220, 160, 140)
        cv2.imwrite(str(folder / "rgb" / f"{index:06d}.jpg"), colour[..., ::-1])
    cv2.imwrite(str(folder / "depth" / "000002.png"), np.zeros((60, 80), np.uint16))  # no colour: left out
    if with_landmarks is not None:
        write_pts(folder / "rgb" / "000000.pts", with_landmarks)
    return camera


def test_rgbd_from_png_folder(tmp_path, face_model, shape, still, tiny_config) -> None:
    colour_camera = Intrinsics.from_fov(160, 120, 60.0)
    landmarks, _ = posed_landmarks(face_model, colour_camera, 0.45 + shape.centre_behind_nose_m)
    camera = write_png_take(tmp_path / "take", landmarks)
    recipe = tiny_config.crop
    source = RgbdSequences(tmp_path, still, recipe, shape)
    assert len(source) == 2
    rng = np.random.default_rng(0)
    marked, unmarked = source.sample(0, rng), source.sample(1, rng)
    size = recipe.size
    for sample in (marked, unmarked):
        assert sample.kind == "rgbd" and sample.xyz.shape == (4, size, size)
        xyz, valid = recipe.denormalize_xyz(sample.xyz, sample.xyz_anchor)
        centre = xyz[size // 2, size // 2]
        assert valid[size // 2, size // 2] and centre[2] == pytest.approx(0.45, abs=1e-5)  # mm PNG -> metres
        assert sample.xyz_anchor[2] == pytest.approx(0.45, abs=1e-5)
        # the crop spans 0.26 m at the face centre's depth
        assert camera.fx * size / sample.intrinsics[0] == pytest.approx(
            camera.fx * 0.26 / (0.45 + shape.centre_behind_nose_m), rel=0.02)
    assert marked.landmarks_2d.shape == (68, 2) and unmarked.landmarks_2d is None
    # landmarks (given on the 2x colour image) land on the crop centre
    np.testing.assert_allclose(marked.landmarks_2d.mean(axis=0), [(size - 1) / 2] * 2, atol=0.1)


def test_rgbd_source_errors(tmp_path, shape, still, tiny_config) -> None:
    with pytest.raises(DataError, match="no .r3d file or PNG depth folder"):
        RgbdSequences(tmp_path, still, tiny_config.crop, shape)
    (tmp_path / "broken.r3d").write_bytes(b"nope")
    with pytest.raises(DataError, match="is not a zip archive"):
        RgbdSequences(tmp_path, still, tiny_config.crop, shape)


# -- scan files ----------------------------------------------------------------------------------


def small_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], np.float64)
    quads_and_tris = [[0, 1, 2, 3], [0, 1, 4], [1, 2, 4]]
    colours = np.linspace(0, 1, 15).reshape(5, 3).astype(np.float32)
    return vertices, quads_and_tris, colours


def test_scan_readers_round_trip(tmp_path) -> None:
    vertices, faces, colours = small_mesh()
    expected = np.array([[0, 1, 2], [0, 2, 3], [0, 1, 4], [1, 2, 4]])
    obj = "\n".join([f"v {' '.join(map(str, v))} {' '.join(map(str, c))}" for v, c in zip(vertices, colours, strict=True)]
                    + ["vn 0 0 1", "f 1//1 2//1 3//1 4//1", "f -5/1 -4/1 -1/1", "f 2 3 5"])
    (tmp_path / "a.obj").write_text(obj + "\n")
    mesh = read_obj(tmp_path / "a.obj")
    np.testing.assert_array_equal(mesh.vertices, vertices)
    np.testing.assert_array_equal(mesh.triangles, expected)
    np.testing.assert_allclose(mesh.colours, colours, atol=1e-6)

    header = ["ply", "format {}", "comment test", "element vertex 5", "property float x", "property float y",
              "property float z", "property uchar red", "property uchar green", "property uchar blue",
              "element face 3", "property list uchar int vertex_indices", "end_header"]
    rgb8 = np.round(colours * 255).astype(np.uint8)
    body = [" ".join(map(str, [*v, *c])) for v, c in zip(vertices, rgb8, strict=True)]
    body += [" ".join(map(str, [len(f), *f])) for f in faces]
    (tmp_path / "a.ply").write_text("\n".join(header).format("ascii") + "\n" + "\n".join(body) + "\n")
    table = np.zeros(5, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")])
    table["x"], table["y"], table["z"] = vertices.T
    table["r"], table["g"], table["b"] = rgb8.T
    blob = table.tobytes() + b"".join(np.array([len(f)], "u1").tobytes() + np.array(f, "<i4").tobytes() for f in faces)
    (tmp_path / "b.ply").write_bytes(("\n".join(header).format("binary_little_endian") + "\n").encode() + blob)
    triangles_only = [f for f in faces if len(f) == 3]
    header_tris = [h.replace("face 3", "face 2") for h in header]
    blob = table.astype(table.dtype.newbyteorder(">")).tobytes() + b"".join(
        np.array([3], "u1").tobytes() + np.array(f, ">i4").tobytes() for f in triangles_only)
    (tmp_path / "c.ply").write_bytes(("\n".join(header_tris).format("binary_big_endian") + "\n").encode() + blob)
    for name in ("a.ply", "b.ply"):
        mesh = read_scan(tmp_path / name)
        np.testing.assert_allclose(mesh.vertices, vertices)
        np.testing.assert_array_equal(mesh.triangles, expected)
        np.testing.assert_allclose(mesh.colours, rgb8 / 255.0, atol=1e-6)
    np.testing.assert_array_equal(read_ply(tmp_path / "c.ply").triangles, expected[2:])
    (tmp_path / "cloud.ply").write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                                        "property float y\nproperty float z\nend_header\n0 0 0\n")
    with pytest.raises(DataError, match="no faces"):
        read_scan(tmp_path / "cloud.ply")


# -- configuration -------------------------------------------------------------------------------


def test_sources_in_the_configuration(tmp_path) -> None:
    for name in ("lite", "resnet50"):  # the shipped weights' hashes stay what their sidecars say
        config = load_config(name)
        assert config.data.sources == ()
        legacy = to_dict(config)
        del legacy["data"]["sources"]  # the configuration as it was before sources existed
        del legacy["run"]["init_from"]  # ... and before fine-tuning existed
        del legacy["network"]["frozen_batchnorm"]  # ... and before frozen BatchNorm existed
        for key in ("aligned_vertices", "aligned_iterations", "aligned_hidden", "trainable"):
            del legacy["network"][key]  # ... and before the mesh-aligned steps existed
        text = json.dumps(legacy, sort_keys=True, separators=(",", ":"))
        assert config_hash(config) == hashlib.sha256(text.encode()).hexdigest()[:16]
    config = from_dict(TrainConfig, {"data": {"sources": [
        {"kind": "synthetic", "weight": 2}, {"kind": "rgb", "path": "faces/"},
        {"kind": "rgbd", "path": "takes/", "angle_deg": 90, "stride": 3}, {"kind": "scan", "path": "s", "units": "mm"}]}})
    assert config.data.sources[2] == SourceConfig("rgbd", "takes/", 1.0, 3, 90.0)
    assert config_hash(config) != config_hash(TrainConfig())
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    with pytest.raises(ConfigError, match="source kind must be"):
        from_dict(TrainConfig, {"data": {"sources": [{"kind": "video", "path": "x"}]}})
    with pytest.raises(ConfigError, match="needs a path"):
        from_dict(TrainConfig, {"data": {"sources": [{"kind": "scan"}]}})
    assert isinstance(build_dataset(TrainConfig().data, TrainConfig().crop, seed=0), SyntheticDataset)
