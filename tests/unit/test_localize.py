"""Face localization without GL: no-face inputs, the real TrueDepth portrait, quarter turns,
crops from landmarks, the colour localizer on bad input and real photos, and the tracker's
bookkeeping (with stand-in detectors)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.localize import (
    DepthLocalizer,
    FaceTemplate,
    FaceTracker,
    Localization,
    MeshFace,
    MeshLocalizer,
    Origin,
    TrackerConfig,
    crop_from_landmarks,
    crop_from_mesh,
)
from inference.localize.orientation import angle_of_turns, rotate_quarter, to_source, turns_of_angle
from models.camera import Intrinsics, truedepth_intrinsics
from models.crop import FaceCrop, crop_camera
from models.errors import ModelError
from models.frame import Frame
from models.geometry import head_pose_to_camera


@pytest.fixture(scope="module")
def localizer(face_model) -> DepthLocalizer:
    return DepthLocalizer.from_face_model(face_model)


@pytest.fixture(scope="module")
def portrait(real_portrait) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    return real_portrait.rgb, real_portrait.depth, real_portrait.intrinsics


def quarter_turn(depth: np.ndarray, intrinsics: Intrinsics, turns: int) -> tuple[np.ndarray, Intrinsics]:
    """Depth and intrinsics of the same camera turned so the image turns ``turns`` times
    counter-clockwise (as numpy.rot90)."""
    k = intrinsics
    for _ in range(turns % 4):
        depth = np.rot90(depth)
        k = Intrinsics(k.fy, k.fx, k.cy, k.width - 1 - k.cx, k.height, k.width)
    return np.ascontiguousarray(depth), k


# -- orientation --------------------------------------------------------------------------------


def test_quarter_turn_pixels_map_back_to_the_source() -> None:
    image = np.arange(35).reshape(5, 7)
    for turns in range(4):
        turned = rotate_quarter(image, turns)
        rows, cols = np.mgrid[0: turned.shape[0], 0: turned.shape[1]]
        uv = to_source(np.stack([cols, rows], axis=-1), turns, 7, 5).astype(int)
        np.testing.assert_array_equal(image[uv[..., 1], uv[..., 0]], turned)
        assert turns_of_angle(angle_of_turns(turns)) == turns
    assert angle_of_turns(1) == pytest.approx(math.pi / 2)  # top of the face toward the image's right


# -- depth: no face ------------------------------------------------------------------------------


def _no_face_inputs() -> dict[str, np.ndarray]:
    ys, xs = np.mgrid[0:480, 0:640].astype(np.float32)
    box = np.full((480, 640), 1.5, np.float32)
    box[150:330, 250:400] = 0.6
    ball = np.full((480, 640), 1.5, np.float32)
    r2 = (xs - 320) ** 2 + (ys - 240) ** 2
    inside = r2 < 100 ** 2
    ball[inside] = 0.6 - np.sqrt(np.maximum(0.0, 0.1 ** 2 - r2[inside] * (0.6 / 600) ** 2))
    return {
        "empty": np.zeros((480, 640), np.float32),
        "all NaN": np.full((480, 640), np.nan, np.float32),
        "flat wall": np.full((480, 640), 0.8, np.float32),
        "tilted wall": (0.6 + 0.001 * xs + 0.0005 * ys).astype(np.float32),
        "noise": np.random.default_rng(0).uniform(0.3, 2.0, (480, 640)).astype(np.float32),
        "box": box,
        "ball": ball,
    }


@pytest.mark.parametrize("name", list(_no_face_inputs()))
def test_no_face_in_depth_gives_none(localizer: DepthLocalizer, name: str) -> None:
    assert localizer.locate(_no_face_inputs()[name], truedepth_intrinsics()) is None


def test_depth_of_the_wrong_size_is_an_error(localizer: DepthLocalizer) -> None:
    with pytest.raises(ValueError, match="intrinsics"):
        localizer.locate(np.zeros((100, 100), np.float32), truedepth_intrinsics())


# -- depth: the real portrait -------------------------------------------------------------------


def test_real_portrait_face_is_found_on_the_face(localizer: DepthLocalizer, portrait) -> None:
    rgb, depth, k = portrait
    found = localizer.locate(depth, k)
    assert found is not None and found.origin is Origin.DEPTH
    crop = found.crop
    u, v = round(crop.centre_x), round(crop.centre_y)
    # On the person, at face distance, in the upper-middle of the portrait where the face is
    # (head tilted far back: nose and mouth around (240, 215-250)).
    assert 0.25 < depth[v, u] < 0.6
    assert 0.35 * k.width < crop.centre_x < 0.65 * k.width
    assert 0.25 * k.height < crop.centre_y < 0.5 * k.height
    assert abs(math.degrees(crop.angle)) < 25  # the head is upright in the image, tilted back
    assert 0.2 < found.centre_cam[2] < 0.6 and found.score >= 0.35
    # The crop holds the face: glasses (y ~ 200-235), nose, mouth and chin (y ~ 300).
    camera = crop_camera(k, crop, 128)
    face_box = np.array([[150, 190], [330, 190], [330, 300], [150, 300]], np.float64)
    inside = camera.source_to_crop_pixels(face_box)
    assert np.all((inside > 0) & (inside < 127))


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_real_portrait_turned_gives_the_same_crop(localizer: DepthLocalizer, portrait, turns: int) -> None:
    _, depth, k = portrait
    upright = localizer.locate(depth, k)
    turned_depth, turned_k = quarter_turn(depth, k, turns)
    found = localizer.locate(turned_depth, turned_k)
    assert found is not None
    back = to_source(np.array([found.crop.centre_x, found.crop.centre_y]), turns, k.width, k.height)
    assert np.hypot(*(back - [upright.crop.centre_x, upright.crop.centre_y])) < 12
    # The image turned counter-clockwise by ``turns`` quarters: the face's angle drops by as much.
    expected = upright.crop.angle - turns * math.pi / 2
    assert abs(math.degrees(math.remainder(found.crop.angle - expected, 2 * math.pi))) < 8


def test_depth_localization_without_a_template_uses_the_silhouette(portrait) -> None:
    _, depth, k = portrait
    found = DepthLocalizer().locate(depth, k)
    assert found is not None and found.rotation is None
    assert 0.25 < depth[round(found.crop.centre_y), round(found.crop.centre_x)] < 0.6


# -- crops from landmarks -----------------------------------------------------------------------


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (35, 0, 10), (-30, 15, -20), (10, -20, 70)])
def test_crop_from_landmarks_matches_the_training_crop(face_model, yaw, pitch, roll) -> None:
    k = truedepth_intrinsics()
    template = FaceTemplate.from_face_model(face_model)
    rotation = head_pose_to_camera(*np.radians([yaw, pitch, roll]))
    translation = np.array([0.03, -0.02, 0.5])
    landmarks = face_model.template[face_model.landmark_indices] @ rotation.T + translation
    crop = crop_from_landmarks(k.project(landmarks))
    centre = rotation @ template.centre + translation
    uv = k.project(centre)
    size = k.fx * 0.26 / centre[2]
    assert np.hypot(crop.centre_x - uv[0], crop.centre_y - uv[1]) < 0.05 * size
    assert 0.85 < crop.size / size < 1.2
    up = k.project(centre + 0.05 * rotation[:, 1]) - uv
    assert abs(math.degrees(math.remainder(crop.angle - math.atan2(up[0], -up[1]), 2 * math.pi))) < 4


# -- the tracker's bookkeeping (stand-in detectors) ---------------------------------------------


class _BoxDetector:
    """A stand-in depth detector: one upright 170-pixel crop at a fixed place, or nothing."""

    def __init__(self) -> None:
        self.present = True
        self.calls = 0

    def locate(self, depth, intrinsics, angle_prior=None) -> Localization | None:
        self.calls += 1
        return Localization(FaceCrop(320.0, 240.0, 170.0, 0.0), Origin.DEPTH) if self.present else None


def _landmarks(centre: tuple[float, float], scale: float = 1.0) -> np.ndarray:
    """68 landmarks of a frontal face around ``centre`` (pixels), about 150 pixels tall."""
    ring = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    lm = np.stack([60 * np.cos(ring), 75 * np.sin(ring)], axis=1) * scale
    lm[36:48] = [[-30 * scale, -25 * scale]] * 6 + [[30 * scale, -25 * scale]] * 6  # eyes
    lm[36], lm[45] = (-45 * scale, -25 * scale), (45 * scale, -25 * scale)
    lm[48:68] = [0, 35 * scale]  # mouth
    lm[8], lm[27] = (0, 75 * scale), (0, -20 * scale)  # chin, top of the nose bridge
    return lm + np.asarray(centre) - lm.mean(axis=0)


def _frame(index: int, rgb: np.ndarray | None = None) -> Frame:
    k = truedepth_intrinsics()
    return Frame(index=index, timestamp=index / 30, intrinsics=k,
                 rgb=np.zeros((480, 640, 3), np.uint8) if rgb is None else rgb,
                 depth=np.ones((480, 640), np.float32))


def test_tracker_detects_once_then_follows_and_redetects_when_lost() -> None:
    detector = _BoxDetector()
    tracker = FaceTracker(depth=detector, config=TrackerConfig(velocity_damping=0.0))
    first = tracker.crop_for(_frame(0), "depth")
    assert first is not None and first.origin is Origin.DEPTH and first.mesh is None
    # A face moving 4 pixels a frame: followed without the detector.
    for i in range(10):
        assert tracker.update(_landmarks((320 + 4 * i, 245)))
        found = tracker.crop_for(_frame(i + 1), "depth")
        assert found.origin is Origin.TRACK
        assert found.crop.centre_x == pytest.approx(320 + 4 * i, abs=1e-6)
    assert detector.calls == 1 and tracker.stats.detections == 1 and tracker.stats.tracked == 10
    # No result (a frame with no face): lost; the next frame detects again.
    assert not tracker.update(None)
    assert tracker.crop_for(_frame(11), "depth").origin is Origin.DEPTH
    tracker.update(_landmarks((320, 245)))
    # A sudden jump: lost.
    tracker.crop_for(_frame(12), "depth")
    assert not tracker.update(_landmarks((520, 245)))
    assert tracker.stats.rejected["jump"] == 1
    # Low confidence (here on a detection's crop: rejected, nothing to lose).
    assert tracker.crop_for(_frame(13), "depth").origin is Origin.DEPTH
    assert not tracker.update(_landmarks((320, 245)), confidence=0.1)
    # A face leaving the image: lost.
    tracker.crop_for(_frame(14), "depth")
    tracker.update(_landmarks((320, 245)))
    assert tracker.crop_for(_frame(15), "depth").origin is Origin.TRACK
    assert not tracker.update(_landmarks((630, 245)))
    # No face at all: None, and the detector runs every frame.
    detector.present = False
    calls = detector.calls
    assert tracker.crop_for(_frame(16), "depth") is None
    assert tracker.crop_for(_frame(17), "depth") is None
    assert detector.calls - calls == 2
    stats = tracker.stats
    assert stats.rejected == {"no result": 1, "jump": 1, "low confidence": 1, "at the border": 1}
    assert (stats.frames, stats.tracked, stats.detections, stats.detected, stats.lost) == (18, 12, 6, 4, 3)
    tracker.reset()
    assert tracker.stats.frames == 0 and not tracker.tracking


def test_tracker_predicts_with_constant_velocity() -> None:
    tracker = FaceTracker(depth=_BoxDetector(), config=TrackerConfig(velocity_damping=1.0))
    tracker.crop_for(_frame(0), "depth")
    tracker.update(_landmarks((300, 245)))
    tracker.crop_for(_frame(1), "depth")
    tracker.update(_landmarks((310, 245)))
    assert tracker.crop_for(_frame(2), "depth").crop.centre_x == pytest.approx(320, abs=1e-6)


def test_tracker_without_a_detector_finds_nothing() -> None:
    tracker = FaceTracker()
    for mode in ("depth", "rgbd", "rgb"):
        assert tracker.crop_for(_frame(0), mode) is None


# -- the colour localizer: bad input and real photos -------------------------------------------

REAL_FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-faces"
needs_real_faces = pytest.mark.skipif(not REAL_FACES.is_dir(), reason="../shared/data/real-faces is missing")


@pytest.fixture(scope="module")
def mesh() -> MeshLocalizer:
    return MeshLocalizer()


def _photo(name: str) -> tuple[np.ndarray, Intrinsics]:
    rgb = cv2.cvtColor(cv2.imread(str(REAL_FACES / name)), cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    return rgb, Intrinsics(fx=1.2 * w, fy=1.2 * w, cx=(w - 1) / 2, cy=(h - 1) / 2, width=w, height=h)


@pytest.mark.parametrize("image", ["black", "grey", "white", "noise", "gradient"])
def test_colour_localizer_finds_no_face_in_blank_frames(mesh: MeshLocalizer, image: str) -> None:
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
    rgb = {"black": np.zeros((480, 640, 3), np.uint8), "grey": np.full((480, 640, 3), 128, np.uint8),
           "white": np.full((480, 640, 3), 255, np.uint8),
           "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
           "gradient": np.broadcast_to(ramp, (480, 640, 3)).astype(np.uint8)}[image]
    mesh.reset()
    assert mesh.locate(rgb, truedepth_intrinsics()) is None
    assert mesh.stats.detections == 1 and set(mesh.stats.turns_tried) == {0, 1, 2, 3}


@needs_real_faces
@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "obama-240p.jpg", "obama_partial_face.jpg"])
def test_colour_localizer_finds_each_real_face(mesh: MeshLocalizer, name: str) -> None:
    rgb, k = _photo(name)
    mesh.reset()
    faces = mesh.detect(rgb, k)
    assert len(faces) == 1 and faces[0].score > 0.99
    face = mesh.locate(rgb, k)
    assert isinstance(face, MeshFace) and face.origin == "detect"
    # Upright photos: the crop is upright, the eyes above the mouth, the iris between the eye corners.
    crop = crop_from_mesh(face.points)
    assert abs(math.degrees(crop.angle)) < 20
    p = face.points
    assert p[[33, 263], 1].mean() < p[[13, 14], 1].mean()
    for row, (a, b) in zip(face.iris, ((362, 263), (33, 133)), strict=True):  # subject's left, then right eye
        lo, hi = sorted((p[a, 0], p[b, 0]))
        assert lo < row[0, 0] < hi


@needs_real_faces
def test_colour_localizer_finds_both_faces_and_tracks_the_largest(mesh: MeshLocalizer) -> None:
    rgb, k = _photo("obama_and_biden.jpg")
    mesh.reset()
    faces = mesh.detect(rgb, k)
    assert len(faces) == 2
    centres = [f.points[:, :2].mean(axis=0) for f in faces]
    assert np.linalg.norm(centres[0] - centres[1]) > 200
    largest = max(faces, key=lambda f: f.size)
    first = mesh.locate(rgb, k)
    assert np.allclose(first.points[:, :2].mean(axis=0), largest.points[:, :2].mean(axis=0), atol=5)
    for _ in range(3):  # the same face kept, tracked
        face = mesh.locate(rgb, k)
        assert face.origin == "track"
        assert np.linalg.norm(face.points[:, :2].mean(axis=0) - first.points[:, :2].mean(axis=0)) < 5


@needs_real_faces
def test_no_face_is_carried_from_one_photo_to_the_next(mesh: MeshLocalizer) -> None:
    """A cut to another photo: the tracked crop shows no face any more, the face score drops,
    the same frame is detected afresh (the new face, not the old place)."""
    obama, k1 = _photo("obama.jpg")
    mesh.reset()
    assert mesh.locate(obama, k1) is not None
    partial, k2 = _photo("obama_partial_face.jpg")  # the face at the left edge: elsewhere
    face = mesh.locate(partial, k2)
    assert face is not None and face.origin == "detect" and mesh.stats.lost == 1
    grey = np.full_like(obama, 128)
    assert mesh.locate(grey, k1) is None and mesh.stats.lost == 2


@needs_real_faces
def test_colour_localizer_tiny_face(mesh: MeshLocalizer) -> None:
    """The 240-line photo shrunk 4 times (a face of ~15 px): not found, or found on the face;
    never a wild crop."""
    rgb, _ = _photo("obama-240p.jpg")
    small = cv2.resize(rgb, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    k = Intrinsics(fx=1.2 * w, fy=1.2 * w, cx=(w - 1) / 2, cy=(h - 1) / 2, width=w, height=h)
    mesh.reset()
    face = mesh.locate(small, k)
    if face is not None:
        full = mesh.detect(rgb, _photo("obama-240p.jpg")[1])[0]
        assert np.linalg.norm(face.points[:, :2].mean(axis=0) * 4 - full.points[:, :2].mean(axis=0)) < 0.2 * full.size


def test_a_missing_model_file_is_one_clear_line(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"face_detection_short_range\.tflite is missing"):
        MeshLocalizer(directory=tmp_path)


@needs_real_faces
def test_a_face_leaving_the_frame_is_followed_then_let_go_never_wild(mesh: MeshLocalizer) -> None:
    rgb, k = _photo("obama.jpg")
    mesh.reset()
    first = mesh.locate(rgb, k)
    centre, size = first.points[:, :2].mean(axis=0), first.size / 1.5
    found = []
    for shift in range(0, rgb.shape[1], 60):  # the photo slides left: the face leaves through the edge
        moved = np.zeros_like(rgb)
        moved[:, : rgb.shape[1] - shift] = rgb[:, shift:]
        face = mesh.locate(moved, k)
        found.append(face is not None)
        if face is not None:
            assert np.linalg.norm(face.points[:, :2].mean(axis=0) - (centre - [shift, 0])) < 0.3 * size, shift
    assert found[0] and not found[-1]
    # ... and back in one step: found again at once.
    assert mesh.locate(rgb, k) is not None


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_colour_localizer_on_the_real_portrait_at_every_turn(mesh: MeshLocalizer, portrait, turns: int) -> None:
    """The real TrueDepth portrait (head tilted far back, glasses) in colour alone: found at
    each quarter turn, the same points as upright (back in the upright image), on the face
    (centred near the depth localizer's crop centre, (248, 244))."""
    rgb, _, k = portrait
    mesh.reset()
    upright = mesh.locate(rgb, k)
    turned_rgb = np.ascontiguousarray(np.rot90(rgb, turns))
    _, turned_k = quarter_turn(np.zeros(rgb.shape[:2], np.float32), k, turns)
    mesh.reset()
    face = mesh.locate(turned_rgb, turned_k)
    assert upright is not None and face is not None and face.score > 0.9
    back = to_source(face.points[:, :2], turns, k.width, k.height)
    assert np.median(np.linalg.norm(back - upright.points[:, :2], axis=1)) < 6
    assert np.linalg.norm(upright.points[:, :2].mean(axis=0) - [248, 244]) < 30
