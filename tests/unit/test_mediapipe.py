"""MediaPipe's face models on LiteRT (runtime.mediapipe): files, detector, landmarks, iris.

Real photos from ../shared/data/real-faces (skipped when the folder is missing); the
synthetic actor's renders are in tests/gl/test_localize_mediapipe.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.camera import Intrinsics
from models.crop import FaceCrop, crop_camera, warp_rgb
from models.errors import ModelError
from runtime.mediapipe import (
    MODEL_FILES,
    BlazeFaceDetector,
    FaceLandmarker,
    IrisLandmarker,
    load_model,
    model_directory,
)
from runtime.mediapipe.detector import anchor_centres, weighted_nms
from runtime.mediapipe.iris import eye_boxes
from runtime.mediapipe.landmarks import landmark_box

REAL_FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-faces"
needs_real_faces = pytest.mark.skipif(not REAL_FACES.is_dir(), reason="../shared/data/real-faces is missing")


def _read(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(REAL_FACES / name)), cv2.COLOR_BGR2RGB)


def _pixels(image: np.ndarray) -> Intrinsics:
    h, w = image.shape[:2]
    return Intrinsics(fx=1000.0, fy=1000.0, cx=w / 2, cy=h / 2, width=w, height=h)


@pytest.fixture(scope="module")
def short() -> BlazeFaceDetector:
    return BlazeFaceDetector("short")


@pytest.fixture(scope="module")
def full() -> BlazeFaceDetector:
    return BlazeFaceDetector("full")


@pytest.fixture(scope="module")
def landmarker() -> FaceLandmarker:
    return FaceLandmarker()


# -- files --------------------------------------------------------------------------------

def test_every_pinned_file_loads() -> None:
    for name in MODEL_FILES:
        model = load_model(name)
        assert model.input_shape[0] == 1 and model.input_shape[3] == 3


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        load_model("face_landmark.tflite", tmp_path)
    message = str(error.value)
    assert "face_landmark.tflite" in message and "missing" in message and "\n" not in message


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped byte"])
def test_corrupt_file_is_one_clear_line(tmp_path: Path, damage: str) -> None:
    good = (model_directory() / "face_landmark.tflite").read_bytes()
    bad = {"truncated": good[: len(good) // 2], "garbage": b"not a model" * 100,
           "flipped byte": good[:5000] + bytes([good[5000] ^ 0xFF]) + good[5001:]}[damage]
    (tmp_path / "face_landmark.tflite").write_bytes(bad)
    with pytest.raises(ModelError) as error:
        FaceLandmarker(directory=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "face_landmark.tflite") in message and "corrupt" in message and "\n" not in message


def test_a_good_copy_elsewhere_loads(tmp_path: Path) -> None:
    shutil.copy(model_directory() / "iris_landmark.tflite", tmp_path)
    assert IrisLandmarker(directory=tmp_path).input_size == 64


# -- detector post-processing -------------------------------------------------------------

def test_anchor_counts_match_the_models(short: BlazeFaceDetector, full: BlazeFaceDetector) -> None:
    assert anchor_centres(128, [(8, 2), (16, 6)]).shape == (896, 2)
    assert short.anchors.shape == (896, 2) and full.anchors.shape == (2304, 2)
    # First anchors: the first cell's centre, twice (short range: 2 anchors per cell).
    np.testing.assert_allclose(short.anchors[:2], [[0.5 / 16, 0.5 / 16]] * 2)


def test_weighted_nms_merges_overlaps_and_keeps_apart_faces() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float64)
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 1.0
    faces = weighted_nms(boxes, keypoints, np.array([0.9, 0.6, 0.8]))
    assert len(faces) == 2
    box, kps, score = faces[0]
    assert score == pytest.approx(0.9)
    np.testing.assert_allclose(box, [0.4, 0, 10.4, 10])  # weighted 0.6 / 0.4
    np.testing.assert_allclose(kps, 0.4)
    np.testing.assert_allclose(faces[1][0], boxes[2])


@pytest.mark.parametrize("image", ["black", "grey", "noise"])
def test_no_face_in_blank_images(short: BlazeFaceDetector, full: BlazeFaceDetector, image: str) -> None:
    rng = np.random.default_rng(0)
    rgb = {"black": np.zeros((480, 640, 3), np.uint8), "grey": np.full((480, 640, 3), 128, np.uint8),
           "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)}[image]
    assert short.detect(rgb) == [] and full.detect(rgb) == []


def test_landmark_box_is_turned_with_the_eyes() -> None:
    points = np.zeros((468, 2))
    points[33], points[263] = (0.0, 0.0), (10.0, 10.0)  # eyes along 45 degrees
    centre, side, angle = landmark_box(points)
    assert angle == pytest.approx(np.pi / 4)
    # In the turned frame all points lie within 14.14 along x and 0 along y (two at 0 and 14.14).
    assert side == pytest.approx(1.5 * np.hypot(10, 10))


# -- real photos ----------------------------------------------------------------------------

EXPECTED_FACES = {"obama.jpg": 1, "biden.jpg": 1, "obama-240p.jpg": 1, "obama_and_biden.jpg": 2,
                  "obama_partial_face.jpg": 1}


@needs_real_faces
@pytest.mark.parametrize("name", sorted(EXPECTED_FACES))
def test_full_range_finds_every_real_face(full: BlazeFaceDetector, name: str) -> None:
    rgb = _read(name)
    faces = full.detect(rgb)
    assert len(faces) == EXPECTED_FACES[name]
    for face in faces:
        assert face.score > 0.7
        # Upright photos: eyes level within 30 degrees, the nose below the eyes.
        assert abs(np.degrees(face.roll)) < 30
        assert face.keypoints[2, 1] > face.keypoints[:2, 1].mean()
        assert face.size > 0.03 * max(rgb.shape[:2])


@needs_real_faces
def test_two_faces_are_apart(full: BlazeFaceDetector) -> None:
    a, b = full.detect(_read("obama_and_biden.jpg"))
    assert np.linalg.norm(a.centre - b.centre) > 1.5 * max(a.size, b.size)


@needs_real_faces
@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "obama-240p.jpg"])
def test_landmarks_and_iris_lie_on_a_real_face(full: BlazeFaceDetector, landmarker: FaceLandmarker, name: str) -> None:
    rgb = _read(name)
    k = _pixels(rgb)
    det = full.detect(rgb)[0]
    cam = crop_camera(k, FaceCrop(float(det.centre[0]), float(det.centre[1]), 1.5 * det.size, det.roll), 192)
    result = landmarker.run(warp_rgb(rgb, cam))
    assert result.points.shape == (468, 3) and result.points.dtype == np.float32
    assert result.score > 0.9
    points = cam.crop_to_source_pixels(result.points[:, :2].astype(np.float64))
    # The detector's eye, nose and mouth keypoints sit on the mesh's (within 15 % of the eye distance).
    eye_distance = np.linalg.norm(det.keypoints[1] - det.keypoints[0])
    mesh = {0: points[[33, 133]].mean(axis=0), 1: points[[362, 263]].mean(axis=0), 2: points[1], 3: points[[13, 14]].mean(axis=0)}
    for key, where in mesh.items():
        assert np.linalg.norm(where - det.keypoints[key]) < 0.15 * eye_distance, key
    # Iris centres inside their eyes' corner boxes.
    iris = IrisLandmarker()
    for (centre, side, angle, flip), corners in zip(eye_boxes(points), ((33, 133), (362, 263)), strict=True):
        eye_cam = crop_camera(k, FaceCrop(float(centre[0]), float(centre[1]), side, angle), 64)
        found = iris.run(warp_rgb(rgb, eye_cam), flip=flip)
        assert found.contour.shape == (71, 3) and found.iris.shape == (5, 3)
        iris_centre = eye_cam.crop_to_source_pixels(found.iris[:1, :2].astype(np.float64))[0]
        a, b = points[corners[0]], points[corners[1]]
        t = np.dot(iris_centre - a, b - a) / np.dot(b - a, b - a)
        u, v = b - a, iris_centre - a
        off = abs(u[0] * v[1] - u[1] * v[0]) / np.linalg.norm(u)
        assert 0.2 < t < 0.8 and off < 0.25 * np.linalg.norm(b - a)


@needs_real_faces
def test_landmark_score_is_low_off_the_face(landmarker: FaceLandmarker) -> None:
    rgb = _read("obama.jpg")
    # The top-left corner: background, no face.
    assert landmarker.run(cv2.resize(rgb[:150, :150], (192, 192))).score < 0.5
    assert landmarker.run(np.zeros((192, 192, 3), np.uint8)).score < 0.5
