"""The shared face-crop preprocessing: crop camera, warps, normalisation and their inverses."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from models.camera import Intrinsics
from models.crop import (
    CropRecipe,
    FaceCrop,
    angle_from_up,
    crop_camera,
    crop_from_box,
    crop_from_depth,
    crop_from_point,
    prepare_inputs,
    rotate_sh,
    rotation_z,
    warp_rgb,
    warp_xyz,
)
from models.geometry import depth_to_xyz, head_pose_to_camera
from models.render.sh_lighting import random_sh, shade

# Unequal focal lengths and an off-centre principal point, so a swapped axis shows.
SOURCE = Intrinsics(fx=600.0, fy=585.0, cx=331.3, cy=228.6, width=640, height=480)
CROPS = [
    FaceCrop(320.0, 240.0, 300.0, 0.0),
    FaceCrop(250.5, 300.2, 180.0, 0.7),
    FaceCrop(400.0, 200.0, 420.0, -2.5),
    FaceCrop(330.0, 250.0, 260.0, math.pi / 2),
]


def _points(rng: np.random.Generator, n: int = 50) -> np.ndarray:
    return np.stack([rng.uniform(-0.1, 0.1, n), rng.uniform(-0.1, 0.1, n), rng.uniform(0.3, 0.8, n)], axis=1)


@pytest.mark.parametrize("crop", CROPS)
def test_crop_camera_projection_matches_source_projection(crop: FaceCrop) -> None:
    camera = crop_camera(SOURCE, crop, 128)
    points = _points(np.random.default_rng(0))
    via_source = camera.source_to_crop_pixels(SOURCE.project(points))
    via_crop = camera.intrinsics.project(camera.points_to_crop(points))
    np.testing.assert_allclose(via_crop, via_source, atol=1e-6)
    centre = camera.crop_to_source_pixels(np.array([63.5, 63.5]))
    np.testing.assert_allclose(centre, [crop.centre_x, crop.centre_y], atol=1e-9)


@pytest.mark.parametrize("crop", CROPS)
def test_warped_blob_lands_where_the_crop_camera_projects_it(crop: FaceCrop) -> None:
    """A bright blob around a projected 3D point, warped, is centred on the crop projection."""
    size = 128
    camera = crop_camera(SOURCE, crop, size)
    u, v = camera.crop_to_source_pixels(np.array([0.43 * size, 0.58 * size]))
    point = 0.47 * np.array([(u - SOURCE.cx) / SOURCE.fx, (v - SOURCE.cy) / SOURCE.fy, 1.0])
    sigma = 2.5 * crop.size / size  # about 2.5 crop pixels
    ys, xs = np.mgrid[0:SOURCE.height, 0:SOURCE.width]
    blob = 255.0 * np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / (2 * sigma**2))
    image = np.repeat(np.round(blob).astype(np.uint8)[..., None], 3, axis=2)
    warped = warp_rgb(image, camera)[..., 0].astype(np.float64)
    cys, cxs = np.mgrid[0:size, 0:size]
    centroid = np.array([(warped * cxs).sum(), (warped * cys).sum()]) / warped.sum()
    expected = camera.intrinsics.project(camera.points_to_crop(point))
    assert np.linalg.norm(centroid - expected) < 0.05


def test_rotation_round_trips() -> None:
    rng = np.random.default_rng(1)
    camera = crop_camera(SOURCE, CROPS[2], 96)
    rotation = head_pose_to_camera(0.3, -0.2, 0.4)
    translation = np.array([0.02, -0.03, 0.5])
    r_crop, t_crop = camera.pose_to_crop(rotation, translation)
    r_back, t_back = camera.pose_to_source(r_crop, t_crop)
    np.testing.assert_allclose(r_back, rotation, atol=1e-12)
    np.testing.assert_allclose(t_back, translation, atol=1e-12)
    head_points = rng.normal(0, 0.05, (20, 3))
    np.testing.assert_allclose(head_points @ r_crop.T + t_crop,
                               camera.points_to_crop(head_points @ rotation.T + translation), atol=1e-12)
    pixels = rng.uniform(0, 96, (10, 2))
    np.testing.assert_allclose(camera.source_to_crop_pixels(camera.crop_to_source_pixels(pixels)), pixels,
                               atol=1e-9)
    np.testing.assert_allclose(rotation_z(0.8) @ rotation_z(-0.8), np.eye(3), atol=1e-15)


@pytest.mark.parametrize("roll_deg", [-170.0, -90.0, -20.0, 0.0, 35.0, 90.0, 180.0])
def test_angle_from_up_shows_the_face_upright(roll_deg: float) -> None:
    rotation = head_pose_to_camera(0.0, 0.0, np.radians(roll_deg))
    centre = np.array([0.0, 0.0, 0.5])
    chin, forehead = rotation @ [0, -0.08, 0] + centre, rotation @ [0, 0.08, 0] + centre
    up = SOURCE.project(forehead) - SOURCE.project(chin)
    camera = crop_camera(SOURCE, crop_from_point(SOURCE, centre, 0.26, angle_from_up(up, SOURCE)), 128)
    up_crop = camera.source_to_crop_pixels(SOURCE.project(forehead)) - camera.source_to_crop_pixels(
        SOURCE.project(chin))
    assert abs(up_crop[0]) < 1e-6 * np.linalg.norm(up_crop)
    assert up_crop[1] < 0
    # The crop-frame head pose has no roll left.
    r_crop, _ = camera.pose_to_crop(rotation, centre)
    np.testing.assert_allclose(r_crop, head_pose_to_camera(0.0, 0.0, 0.0), atol=1e-3)


def test_xyz_normalisation_is_invertible() -> None:
    rng = np.random.default_rng(2)
    recipe = CropRecipe(size=32)
    xyz = rng.normal([0, 0, 0.5], 0.05, (32, 32, 3)).astype(np.float32)
    valid = rng.random((32, 32)) > 0.3
    xyz[~valid] = 0
    anchor = np.array([0.01, -0.02, 0.48])
    packed = recipe.normalize_xyz(xyz, valid, anchor)
    assert packed.shape == (4, 32, 32) and packed.dtype == np.float32
    assert np.all(packed[:3][:, ~valid] == 0)
    back, back_valid = recipe.denormalize_xyz(packed, anchor)
    np.testing.assert_array_equal(back_valid, valid)
    np.testing.assert_allclose(back, xyz, atol=1e-6)
    t = np.array([0.03, 0.01, 0.6])
    np.testing.assert_allclose(recipe.translation_from_network(recipe.translation_to_network(t, anchor), anchor),
                               t, atol=1e-12)


@pytest.mark.parametrize("crop", CROPS)
def test_warped_xyz_points_project_onto_their_own_pixels(crop: FaceCrop) -> None:
    """Nearest sampling keeps measured points: each lands within half a source pixel."""
    depth = np.full((SOURCE.height, SOURCE.width), 0.5, np.float32)
    depth[:, :100] = 0  # some invalid depth
    camera = crop_camera(SOURCE, crop, 64)
    xyz, valid = warp_xyz(depth, camera)
    assert valid.any() and np.all(xyz[~valid] == 0)
    np.testing.assert_allclose(xyz[valid][:, 2], 0.5, atol=1e-6)
    ys, xs = np.nonzero(valid)
    projected = camera.intrinsics.project(xyz[valid].astype(np.float64))
    scale = crop.size / 64  # source pixels per crop pixel
    error = np.linalg.norm(projected - np.stack([xs, ys], axis=1), axis=1)
    assert error.max() < 0.75 / scale + 1e-3


@pytest.mark.parametrize("crop", [*CROPS, FaceCrop(-150.0, 240.0, 200.0, 0.3), FaceCrop(60.0, 50.0, 120.0, 0.2),
                                  FaceCrop(-900.0, -900.0, 200.0, 0.0)])
def test_warped_xyz_samples_the_same_pixels_as_the_whole_image(crop: FaceCrop) -> None:
    """Back-projecting only the window the crop reaches changes nothing (also at the border
    and wholly outside the image)."""
    depth = np.random.default_rng(1).uniform(0.3, 0.8, (SOURCE.height, SOURCE.width)).astype(np.float32)
    depth[:, :60] = np.nan
    camera = crop_camera(SOURCE, crop, 64)
    whole, whole_valid = depth_to_xyz(depth, SOURCE)
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    expected = cv2.warpAffine(whole, camera.affine, (64, 64), flags=flags)
    expected_valid = cv2.warpAffine(whole_valid.view(np.uint8), camera.affine, (64, 64), flags=flags).astype(bool)
    expected = (expected.reshape(-1, 3) @ camera.rotation.astype(np.float32)).reshape(expected.shape)
    expected[~expected_valid] = 0
    xyz, valid = warp_xyz(depth, camera)
    np.testing.assert_array_equal(valid, expected_valid)
    np.testing.assert_array_equal(xyz, expected)


def test_rotated_sh_shades_rotated_normals_the_same() -> None:
    rng = np.random.default_rng(3)
    sh = random_sh(rng)
    rotation = rotation_z(1.1) @ head_pose_to_camera(0.2, 0.3, 0.0)
    normals = rng.normal(size=(100, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    albedo = rng.uniform(0.2, 0.8, (100, 3))
    np.testing.assert_allclose(shade(albedo, normals @ rotation.T, rotate_sh(sh, rotation)),
                               shade(albedo, normals, sh), atol=2e-5)


def test_recipe_serialises_and_anchors() -> None:
    recipe = CropRecipe(size=64, metric_extent_m=0.25)
    data = json.loads(json.dumps(recipe.to_dict()))
    assert CropRecipe.from_dict(data) == recipe
    centre = np.array([0.02, 0.01, 0.55])
    crop = crop_from_point(SOURCE, centre, 0.25, angle=0.4)
    camera = crop_camera(SOURCE, crop, 64)
    # The nominal depth of a crop made around a point is that point's depth.
    assert recipe.nominal_depth(camera) == pytest.approx(0.55)
    np.testing.assert_allclose(camera.points_to_source(recipe.rgb_anchor(camera)), centre, atol=1e-9)
    assert FaceCrop.from_dict(json.loads(json.dumps(crop.to_dict()))) == crop
    box = crop_from_box(100, 120, 200, 260, scale=1.2)
    assert (box.centre_x, box.centre_y, box.size) == (150, 190, pytest.approx(168))


def test_prepare_inputs_on_a_plane() -> None:
    recipe = CropRecipe(size=48)
    rgb = np.full((SOURCE.height, SOURCE.width, 3), 128, np.uint8)
    depth = np.full((SOURCE.height, SOURCE.width), 0.6, np.float32)
    inputs = prepare_inputs(recipe, SOURCE, FaceCrop(300, 220, 200, 0.3), rgb=rgb, depth=depth)
    assert inputs.rgb.shape == (3, 48, 48) and inputs.xyz.shape == (4, 48, 48)
    np.testing.assert_allclose(inputs.rgb, (128 / 255 - 0.5) / 0.25, atol=1e-6)
    assert inputs.xyz_anchor[2] == pytest.approx(0.6)
    np.testing.assert_allclose(inputs.xyz[2], 0.0, atol=1e-5)  # z - anchor z on a fronto-parallel plane
    assert inputs.xyz[3].all()
    # the crop_camera input: the crop's intrinsics, then the XYZ anchor; none without depth
    k = inputs.camera.intrinsics
    assert inputs.crop_camera.dtype == np.float32 and inputs.crop_camera.shape == (7,)
    np.testing.assert_allclose(inputs.crop_camera, [k.fx, k.fy, k.cx, k.cy, *inputs.xyz_anchor], rtol=1e-6)
    assert prepare_inputs(recipe, SOURCE, FaceCrop(300, 220, 200, 0.3), rgb=rgb).crop_camera is None


def test_crop_from_depth_lifts_the_centre_pixel() -> None:
    depth = np.full((SOURCE.height, SOURCE.width), 0.55, np.float32)
    depth[:, :50] = 0
    crop = crop_from_depth(depth, SOURCE, (300.0, 200.0), 0.26, angle=0.2)
    assert (crop.centre_x, crop.centre_y, crop.angle) == (pytest.approx(300.0), pytest.approx(200.0), 0.2)
    assert crop.size == pytest.approx(np.sqrt(SOURCE.fx * SOURCE.fy) * 0.26 / 0.55)
    assert crop_from_depth(depth, SOURCE, (10.0, 200.0), 0.26, window_px=9) is None
