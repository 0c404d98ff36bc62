"""Face localization and tracking on the synthetic source (held-out seeds >= 1000).

The ground-truth crop is the one training makes: centred on the 68 landmarks' centroid of the
mean face posed by the frame's head pose, turned by the head's up (``crop_angle_of_pose``).
Frames are turned by quarter turns and by arbitrary angles (image, depth, intrinsics and the
ground-truth pose together), as TrueDepth frames of an upright phone and tilted cameras are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from inference.localize import (
    MeshLocalizer,
    Origin,
    crop_angle_of_pose,
    crop_from_mesh,
    make_tracker,
)
from inference.localize.depth import DepthLocalizer
from models.camera import Intrinsics, truedepth_intrinsics
from models.crop import FaceCrop, crop_camera
from models.frame import Frame
from models.geometry import head_pose_to_camera
from models.render.sh_lighting import random_sh
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import FaceState
from models.synthetic.scene import make_backdrop

pytestmark = pytest.mark.gl


@dataclass(frozen=True, eq=False)
class Case:
    """A frame and its ground truth in that frame's camera."""

    frame: Frame
    rotation: np.ndarray
    centre: np.ndarray  # the landmarks' centroid, camera frame (m)
    landmarks: np.ndarray  # (68, 2) pixels

    @property
    def angle(self) -> float:
        return crop_angle_of_pose(self.frame.intrinsics, self.rotation, self.centre)


def _case(frame: Frame, centre_head: np.ndarray) -> Case:
    truth = frame.ground_truth
    return Case(frame, truth.rotation, truth.rotation @ centre_head + truth.translation, truth.landmarks_2d)


def _quarter_turn(case: Case, turns: int) -> Case:
    """The camera turned so the image turns ``turns`` times counter-clockwise (numpy.rot90)."""
    f = case.frame
    k, q = f.intrinsics, np.eye(3)
    rgb, depth = f.rgb, f.depth
    lm = case.landmarks.astype(np.float64)
    for _ in range(turns % 4):
        rgb, depth = np.rot90(rgb), np.rot90(depth)
        lm = np.stack([lm[:, 1], k.width - 1 - lm[:, 0]], axis=1)
        k = Intrinsics(k.fy, k.fx, k.cy, k.width - 1 - k.cx, k.height, k.width)
        q = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ q
    frame = Frame(f.index, f.timestamp, k, np.ascontiguousarray(rgb), np.ascontiguousarray(depth))
    return Case(frame, q @ case.rotation, q @ case.centre, lm)


def _rolled(case: Case, degrees: float) -> Case:
    """The camera rolled by ``degrees`` about its optical axis (square pixels), cut to the
    largest centred window of the same shape that the turned image covers everywhere, so the
    body leaves the image through its edges as in a real tilted capture."""
    f, k = case.frame, case.frame.intrinsics
    assert k.fx == k.fy
    theta = math.radians(degrees)
    c, s = math.cos(theta), math.sin(theta)
    q2 = np.array([[c, -s], [s, c]])
    principal = np.array([k.cx, k.cy])
    affine = np.concatenate([q2, (principal - q2 @ principal)[:, None]], axis=1)
    fill = min(k.width / (k.width * abs(c) + k.height * abs(s)), k.height / (k.width * abs(s) + k.height * abs(c)))
    w, h = int(k.width * fill), int(k.height * fill)
    x0, y0 = int(round(k.cx - w / 2)), int(round(k.cy - h / 2))
    rgb = cv2.warpAffine(f.rgb, affine, (k.width, k.height), flags=cv2.INTER_LINEAR)[y0:y0 + h, x0:x0 + w]
    depth = cv2.warpAffine(f.depth, affine, (k.width, k.height), flags=cv2.INTER_NEAREST)[y0:y0 + h, x0:x0 + w]
    kk = Intrinsics(k.fx, k.fy, k.cx - x0, k.cy - y0, w, h)
    q = np.eye(3)
    q[:2, :2] = q2
    lm = case.landmarks @ q2.T + affine[:, 2] - [x0, y0]
    frame = Frame(f.index, f.timestamp, kk, np.ascontiguousarray(rgb), np.ascontiguousarray(depth))
    return Case(frame, q @ case.rotation, q @ case.centre, lm)


def _inside(case: Case, margin: float = 0.0) -> bool:
    k = case.frame.intrinsics
    lm = case.landmarks
    return bool(np.all((lm >= margin) & (lm <= [k.width - 1 - margin, k.height - 1 - margin])))


def _errors(case: Case, crop: FaceCrop, centre: np.ndarray | None) -> tuple[float, float, float]:
    """(3D centre error mm, centre error px, angle error deg)."""
    uv = case.frame.intrinsics.project(case.centre)
    e3 = float(np.linalg.norm(centre - case.centre) * 1000) if centre is not None else math.nan
    epx = math.hypot(crop.centre_x - uv[0], crop.centre_y - uv[1])
    eang = abs(math.degrees(math.remainder(crop.angle - case.angle, 2 * math.pi)))
    return e3, epx, eang


def _holds_landmarks(case: Case, crop: FaceCrop) -> bool:
    camera = crop_camera(case.frame.intrinsics, crop, 128)
    uv = camera.source_to_crop_pixels(case.landmarks)
    return bool(np.all((uv > 0) & (uv < 127)))


@pytest.fixture(scope="module")
def centre_head(face_model) -> np.ndarray:
    return face_model.template[face_model.landmark_indices].mean(axis=0).astype(np.float64)


@pytest.fixture(scope="module")
def localizer(face_model) -> DepthLocalizer:
    return DepthLocalizer.from_face_model(face_model)


@pytest.fixture(scope="module")
def cases(centre_head) -> list[Case]:
    with SyntheticSource(seed=1001) as source:
        return [_case(source.frame_at(i), centre_head) for i in (0, 45, 90, 135, 180, 225)]


def _check(localizer: DepthLocalizer, case: Case, what: str) -> tuple[float, float, float]:
    found = localizer.locate(case.frame.depth, case.frame.intrinsics)
    assert found is not None, f"{what}: no face found"
    e3, epx, eang = _errors(case, found.crop, found.centre_cam)
    assert e3 < 10.0, f"{what}: centre {e3:.1f} mm off"
    # 10 px (1 cm at 0.6 m), or 2.5 % of the crop for a near face (at 0.3 m: 13 px, 6.5 mm).
    assert epx < max(10.0, 0.025 * found.crop.size), f"{what}: centre {epx:.1f} px off"
    assert eang < 10.0, f"{what}: angle {eang:.1f} degrees off"
    assert _holds_landmarks(case, found.crop), f"{what}: the crop cuts landmarks off"
    return e3, epx, eang


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_depth_localization_at_quarter_turns(localizer: DepthLocalizer, cases: list[Case], turns: int) -> None:
    errors = [_check(localizer, _quarter_turn(case, turns), f"frame {case.frame.index}, {turns} turns")
              for case in cases]
    assert np.median([e[0] for e in errors]) < 5.0


def test_depth_localization_at_any_roll(localizer: DepthLocalizer, cases: list[Case]) -> None:
    checked = 0
    for degrees in (20, 55, 100, 150, -65, -120, -170):
        for case in cases[:4]:
            rolled = _rolled(case, degrees)
            if _inside(rolled, margin=10):  # the whole face in the (smaller) rolled window
                _check(localizer, rolled, f"frame {case.frame.index} rolled {degrees} degrees")
                checked += 1
    assert checked >= 8


@pytest.fixture(scope="module")
def compositor(face_model):
    c = FaceCompositor(face_model, truedepth_intrinsics())
    with c.renderer:
        yield c


def _posed_frame(compositor, face_model, yaw: float, pitch: float, roll: float, seed: int) -> Frame:
    """A frame of a random actor turned by the given angles (degrees), 0.45 m from the camera."""
    rng = np.random.default_rng(seed)
    k = compositor.intrinsics
    appearance = Appearance.sample(compositor.albedo_model, make_backdrop(k, rng), rng)
    identity = (rng.standard_normal(face_model.num_identity) * 0.8).astype(np.float32)
    state = FaceState(identity, np.zeros(face_model.num_expression, np.float32),
                      head_pose_to_camera(*np.radians([yaw, pitch, roll])), np.array([0.01, 0.02, 0.58]))
    image = compositor.render(state, appearance, random_sh(rng), rng)
    return Frame(0, 0.0, k, image.rgb, image.depth, image.ground_truth)


@pytest.mark.parametrize(("yaw", "pitch"), [(-45, -10), (-40, 10), (40, -10), (45, 10), (42, 0)])
def test_depth_localization_at_large_yaw(localizer: DepthLocalizer, compositor, face_model, centre_head,
                                         yaw: float, pitch: float) -> None:
    case = _case(_posed_frame(compositor, face_model, yaw, pitch, 5.0, seed=1000 + yaw + pitch), centre_head)
    _check(localizer, case, f"yaw {yaw}, pitch {pitch}")
    _check(localizer, _quarter_turn(case, 1), f"yaw {yaw}, pitch {pitch}, a quarter turn")


@pytest.fixture(scope="module")
def mesh() -> MeshLocalizer:
    return MeshLocalizer()


def _colour_only(case: Case) -> Case:
    f = case.frame
    return Case(Frame(f.index, f.timestamp, f.intrinsics, f.rgb, None, f.ground_truth), case.rotation, case.centre,
                case.landmarks)


def _check_colour(case: Case, crop: FaceCrop, what: str) -> None:
    """A colour crop frames the face as training's does: centre within 5 % of the crop, angle
    within 6 degrees, every landmark inside."""
    _, epx, eang = _errors(case, crop, None)
    assert epx < 0.05 * crop.size and eang < 6, f"{what}: centre {epx:.1f} px, angle {eang:.1f} degrees off"
    assert _holds_landmarks(case, crop), f"{what}: the crop cuts landmarks off"


def test_colour_localizer_finds_every_face_at_quarter_turns(mesh: MeshLocalizer, centre_head) -> None:
    for seed in range(1000, 1012):
        with SyntheticSource(seed=seed) as source:
            case = _case(source.frame_at(60), centre_head)
        for turns in (0, 1, 3):
            c = _colour_only(_quarter_turn(case, turns))
            mesh.reset()
            face = mesh.locate(c.frame.rgb, c.frame.intrinsics)
            assert face is not None, f"seed {seed}, {turns} turns: not found"
            assert face.origin == "detect" and face.score > 0.8, face.score
            assert face.points.shape == (468, 3) and face.iris.shape == (2, 5, 2) and face.eye_contour.shape == (2, 71, 2)
            _check_colour(c, crop_from_mesh(face.points), f"seed {seed}, {turns} turns")


def test_colour_localizer_at_any_roll(mesh: MeshLocalizer, cases: list[Case]) -> None:
    checked = 0
    for degrees in (30, 60, 100, 135, 180, -45, -120):
        for case in cases[:3]:
            rolled = _colour_only(_rolled(case, degrees))
            if not _inside(rolled, margin=10):
                continue
            mesh.reset()
            face = mesh.locate(rolled.frame.rgb, rolled.frame.intrinsics)
            assert face is not None, f"rolled {degrees}: not found"
            _check_colour(rolled, crop_from_mesh(face.points), f"frame {case.frame.index} rolled {degrees}")
            checked += 1
    assert checked >= 8


def test_rgb_mode_takes_the_depth_orientation(face_model, cases: list[Case]) -> None:
    """RGB mode on an RGB-D frame a quarter turned: the detector tries the depth's turn first
    (and finds the face there, at the first try)."""
    tracker = make_tracker(face_model)
    for turns in (1, 3):
        tracker.reset()
        case = _quarter_turn(cases[0], turns)
        found = tracker.crop_for(case.frame, "rgb")
        assert found is not None and found.origin is Origin.RGB and found.mesh is not None
        _check_colour(case, found.crop, f"{turns} turns")
        assert tracker.mesh.stats.turns_tried == {(-turns) % 4: 1}  # turned back upright, at once


def _result(case: Case) -> dict:
    truth = case.frame.ground_truth
    return {"rotation": truth.rotation, "translation": truth.translation}


def test_tracker_follows_a_moving_face_with_one_detection(face_model, centre_head) -> None:
    tracker = make_tracker(face_model)
    with SyntheticSource(seed=1004) as source:
        for index in range(40):
            case = _case(source.frame_at(index), centre_head)
            found = tracker.crop_for(case.frame, "rgbd")
            assert found is not None
            _, epx, eang = _errors(case, found.crop, None)
            assert epx < 0.05 * found.crop.size and eang < 5, f"frame {index}: the crop lags"
            assert _holds_landmarks(case, found.crop)
            assert tracker.update(case.landmarks, confidence=0.9, **_result(case))
    stats = tracker.stats
    assert (stats.detections, stats.tracked, stats.lost) == (1, 39, 0)


def test_tracker_recovers_after_no_face_and_a_jump(face_model, centre_head) -> None:
    tracker = make_tracker(face_model)
    with SyntheticSource(seed=1005) as source:
        for index in range(16):
            case = _case(source.frame_at(index), centre_head)
            frame = case.frame
            if index == 5:  # nothing in front of the camera: the crop is a guess; no result
                frame = Frame(index, frame.timestamp, frame.intrinsics, np.zeros_like(frame.rgb),
                              np.zeros_like(frame.depth))
            found = tracker.crop_for(frame, "rgbd")
            if index in (5, 6):
                assert (found.origin if found else None) is (Origin.TRACK if index == 5 else Origin.DEPTH)
            if index == 5:
                assert not tracker.update(None)
            elif index == 10:  # a wild result 25 cm to the side: refused, the next frame detects
                truth = frame.ground_truth
                assert not tracker.update(case.landmarks + 150, rotation=truth.rotation,
                                          translation=truth.translation + [0.25, 0, 0])
            else:
                assert tracker.update(case.landmarks, **_result(case))
            if index == 11:
                assert found.origin is Origin.DEPTH
    stats = tracker.stats
    assert stats.detections == 3 and stats.lost == 2 and stats.tracked == 13


def test_tracker_in_rgb_mode_follows_the_colour_landmarks(face_model, centre_head) -> None:
    tracker = make_tracker(face_model)
    with SyntheticSource(seed=1006) as source:
        for index in range(0, 60, 3):
            case = _colour_only(_quarter_turn(_case(source.frame_at(index), centre_head), 1))  # a portrait frame
            found = tracker.crop_for(case.frame, "rgb")
            assert found is not None and found.mesh is not None
            assert found.origin is (Origin.RGB if index == 0 else Origin.TRACK)
            _check_colour(case, found.crop, f"frame {index}")
            tracker.update(case.landmarks)
    stats = tracker.stats
    assert (stats.detections, stats.detected, stats.tracked) == (1, 1, 19)


def test_rgbd_frames_carry_the_colour_landmarks(face_model, cases: list[Case]) -> None:
    tracker = make_tracker(face_model)
    for case in cases[:3]:
        found = tracker.crop_for(case.frame, "rgbd")
        assert found is not None and found.mesh is not None
        truth = case.landmarks
        eyes = found.mesh.points[[33, 263], :2]  # outer eye corners, Multi-PIE 36 and 45
        assert np.linalg.norm(eyes - truth[[36, 45]], axis=1).max() < 0.15 * np.linalg.norm(truth[45] - truth[36])
        tracker.update(case.landmarks, **_result(case))


@pytest.mark.parametrize("yaw", [60, -75, 90])
def test_colour_localizer_on_a_profile_is_found_on_the_face_or_not_at_all(mesh: MeshLocalizer, compositor, face_model,
                                                                          centre_head, yaw: float) -> None:
    """A face turned far to the side: found with its points on the face, or not found; never
    a crop elsewhere."""
    case = _colour_only(_case(_posed_frame(compositor, face_model, yaw, 0, 0.0, seed=2000 + yaw), centre_head))
    mesh.reset()
    face = mesh.locate(case.frame.rgb, case.frame.intrinsics)
    if abs(yaw) <= 60:
        assert face is not None, "a face at 60 degrees yaw is found"
    if face is not None:
        truth = case.landmarks
        extent = float((truth.max(axis=0) - truth.min(axis=0)).max())
        assert np.linalg.norm(face.points[:, :2].mean(axis=0) - truth.mean(axis=0)) < 0.3 * extent
