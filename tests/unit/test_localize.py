"""Face localization without GL: no-face inputs, the real TrueDepth portrait, quarter turns,
crops from landmarks and the tracker's bookkeeping (with a stand-in colour detector)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.localize import (
    DepthLocalizer,
    Detection,
    FaceTemplate,
    FaceTracker,
    Origin,
    RgbLocalizer,
    TrackerConfig,
    crop_from_landmarks,
)
from inference.localize.orientation import angle_of_turns, rotate_quarter, to_source, turns_of_angle
from models.camera import Intrinsics, truedepth_intrinsics
from models.crop import crop_camera
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


# -- the tracker's bookkeeping (a stand-in colour detector) -------------------------------------


class _BoxDetector:
    """Finds one upright 100-pixel face at a fixed place, or nothing."""

    name = "fixed box"

    def __init__(self) -> None:
        self.present = True
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection(270.0, 190.0, 370.0, 290.0, 1.0)] if self.present else []


def _landmarks(centre: tuple[float, float], scale: float = 1.0) -> np.ndarray:
    """68 landmarks of a frontal face around ``centre`` (pixels), about 150 pixels tall."""
    ring = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    lm = np.stack([60 * np.cos(ring), 75 * np.sin(ring)], axis=1) * scale
    lm[36:48] = [[-30 * scale, -25 * scale]] * 6 + [[30 * scale, -25 * scale]] * 6  # eyes
    lm[36], lm[45] = (-45 * scale, -25 * scale), (45 * scale, -25 * scale)
    lm[48:68] = [0, 35 * scale]  # mouth
    lm[8], lm[27] = (0, 75 * scale), (0, -20 * scale)  # chin, top of the nose bridge
    return lm + np.asarray(centre) - lm.mean(axis=0)


def _frame(index: int) -> Frame:
    k = truedepth_intrinsics()
    return Frame(index=index, timestamp=index / 30, intrinsics=k, rgb=np.zeros((480, 640, 3), np.uint8))


def test_tracker_detects_once_then_follows_and_redetects_when_lost() -> None:
    detector = _BoxDetector()
    tracker = FaceTracker(rgb=RgbLocalizer(detector), config=TrackerConfig(velocity_damping=0.0, confirm_every=0))
    first = tracker.crop_for(_frame(0), "rgb")
    assert first is not None and first.origin is Origin.RGB and first.crop.angle == 0.0
    # A face moving 4 pixels a frame: followed without the detector.
    for i in range(10):
        assert tracker.update(_landmarks((320 + 4 * i, 245)))
        found = tracker.crop_for(_frame(i + 1), "rgb")
        assert found.origin is Origin.TRACK
        assert found.crop.centre_x == pytest.approx(320 + 4 * i, abs=1e-6)
    assert detector.calls == 1 and tracker.stats.detections == 1 and tracker.stats.tracked == 10
    # No result (a frame with no face): lost; the next frame detects again.
    assert not tracker.update(None)
    assert tracker.crop_for(_frame(11), "rgb").origin is Origin.RGB
    tracker.update(_landmarks((320, 245)))
    # A sudden jump: lost.
    tracker.crop_for(_frame(12), "rgb")
    assert not tracker.update(_landmarks((520, 245)))
    assert tracker.stats.rejected["jump"] == 1
    # Low confidence (here on a detection's crop: rejected, nothing to lose).
    assert tracker.crop_for(_frame(13), "rgb").origin is Origin.RGB
    assert not tracker.update(_landmarks((320, 245)), confidence=0.1)
    # A face leaving the image: lost.
    tracker.crop_for(_frame(14), "rgb")
    tracker.update(_landmarks((320, 245)))
    assert tracker.crop_for(_frame(15), "rgb").origin is Origin.TRACK
    assert not tracker.update(_landmarks((630, 245)))
    # No face at all: None, and the detector runs every frame, at each quarter turn.
    detector.present = False
    calls = detector.calls
    assert tracker.crop_for(_frame(16), "rgb") is None
    assert tracker.crop_for(_frame(17), "rgb") is None
    assert detector.calls - calls == 8
    stats = tracker.stats
    assert stats.rejected == {"no result": 1, "jump": 1, "low confidence": 1, "at the border": 1}
    assert (stats.frames, stats.tracked, stats.detections, stats.detected, stats.lost) == (18, 12, 6, 4, 3)
    tracker.reset()
    assert tracker.stats.frames == 0 and not tracker.tracking


class _CentredDetector(_BoxDetector):
    """The face of :class:`_BoxDetector` in a whole frame; in a confirmation window, a face
    framed the way the window frames the crop it checks (see ``RgbLocalizerConfig``)."""

    def __init__(self, box_side: float = 94.7, offset: float = 0.0) -> None:
        super().__init__()
        self.box_side, self.offset = box_side, offset

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        if rgb.shape[:2] == (480, 640):
            return super().detect(rgb)
        self.calls += 1
        middle, half = rgb.shape[1] / 2 + self.offset, self.box_side / 2
        return [Detection(middle - half, 128 - 0.05 * self.box_side - half, middle + half,
                          128 - 0.05 * self.box_side + half, 1.0)] if self.present else []


def test_colour_tracks_are_confirmed_and_lost_when_the_face_leaves() -> None:
    detector = _CentredDetector()
    config = TrackerConfig(velocity_damping=0.0, confirm_every=5, confirm_misses=2, confirm_retry_every=2)
    tracker = FaceTracker(rgb=RgbLocalizer(detector), config=config)
    assert tracker.crop_for(_frame(0), "rgb").origin is Origin.RGB
    tracker.update(_landmarks((320, 245)))
    for i in range(1, 6):  # the fifth tracked frame is checked: the face is there
        assert tracker.crop_for(_frame(i), "rgb").origin is Origin.TRACK
        tracker.update(_landmarks((320, 245)))
    assert (tracker.stats.confirmations, tracker.stats.unconfirmed, detector.calls) == (1, 0, 2)
    detector.present = False  # the face left; the network would still answer on the crop
    for i in range(6, 12):  # checks at 10 (a miss) and 12 (the second: lost)
        assert tracker.crop_for(_frame(i), "rgb").origin is Origin.TRACK
        tracker.update(_landmarks((320, 245)))
    assert tracker.crop_for(_frame(12), "rgb") is None  # lost, and the detector finds nothing
    assert (tracker.stats.confirmations, tracker.stats.unconfirmed) == (3, 2)
    assert tracker.stats.rejected == {"unconfirmed": 1}
    # Depth and RGB-D tracks are not checked this way (the depth agreement is their check).
    depth_tracker = FaceTracker(rgb=RgbLocalizer(_CentredDetector()), config=config)
    depth_tracker.crop_for(_frame(0), "rgbd")
    depth_tracker.update(_landmarks((320, 245)))
    for i in range(1, 20):
        depth_tracker.crop_for(_frame(i), "rgbd")
        depth_tracker.update(_landmarks((320, 245)))
    assert depth_tracker.stats.confirmations == 0


@pytest.mark.parametrize(("box_side", "offset", "confirmed"),
                         [(94.7, 0.0, True), (94.7, 40.0, True), (94.7, 70.0, False), (40.0, 0.0, False),
                          (200.0, 0.0, False)])
def test_confirmation_wants_a_face_of_the_crop_size_at_its_centre(box_side, offset, confirmed) -> None:
    localizer = RgbLocalizer(_CentredDetector(box_side, offset))
    crop = crop_from_landmarks(_landmarks((320, 245)))
    assert localizer.confirms(np.zeros((480, 640, 3), np.uint8), truedepth_intrinsics(), crop) is confirmed


def test_tracker_predicts_with_constant_velocity() -> None:
    tracker = FaceTracker(rgb=RgbLocalizer(_BoxDetector()), config=TrackerConfig(velocity_damping=1.0))
    tracker.crop_for(_frame(0), "rgb")
    tracker.update(_landmarks((300, 245)))
    tracker.crop_for(_frame(1), "rgb")
    tracker.update(_landmarks((310, 245)))
    assert tracker.crop_for(_frame(2), "rgb").crop.centre_x == pytest.approx(320, abs=1e-6)


def test_tracker_in_depth_mode_without_depth_finds_nothing() -> None:
    tracker = FaceTracker(rgb=RgbLocalizer(_BoxDetector()))
    assert tracker.crop_for(_frame(0), "depth") is None
    assert tracker.crop_for(_frame(1), "rgbd").origin is Origin.RGB  # RGB-D falls back to colour
