"""The VMC bundle, parsed by python-osc (alone and over a real loopback UDP socket)."""

from __future__ import annotations

import numpy as np
import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from scipy.spatial.transform import Rotation

from app.stream import StreamSender, VmcEncoder, parse_target
from app.stream.vmc import unity_quaternion
from models.arkit_values import CURVE_NAMES, arkit_values
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.face_result import FaceResult
from models.geometry import euler_to_matrix, head_pose_to_camera
from tests.unit.test_stream_livelink import Collector, stream_result

INTRINSICS = Intrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)
FORWARD, UP = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])


def messages(datagram: bytes) -> list[OscMessage]:
    assert OscBundle.dgram_is_bundle(datagram)
    bundle = OscBundle(datagram)
    return [bundle.content(i) for i in range(bundle.num_contents)]


def bones(datagram: bytes | list[OscMessage]) -> dict[str, tuple[np.ndarray, Rotation]]:
    """Bone -> (position (3,), rotation) from a bundle's /VMC/Ext/Bone/Pos messages."""
    out = {}
    for message in messages(datagram) if isinstance(datagram, bytes) else datagram:
        if message.address == "/VMC/Ext/Bone/Pos":
            name, *numbers = message.params
            out[name] = (np.array(numbers[:3]), Rotation.from_quat(numbers[3:]))
    return out


def posed(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, gaze: np.ndarray | None = None) -> FaceResult:
    return FaceResult(index=0, timestamp=1.25, intrinsics=INTRINSICS, found=True,
                      rotation=head_pose_to_camera(yaw, pitch, roll), translation=np.array([0.01, -0.02, 0.5]),
                      expression=np.zeros(53, np.float32), vertices=np.zeros((4, 3), np.float32), gaze=gaze)


def encode(result: FaceResult, face_model: FaceModel) -> bytes:
    return VmcEncoder().encode(arkit_values(result, face_model.arkit_matrix), result.timestamp, result)


def test_bundle_layout_and_values(face_model: FaceModel) -> None:
    result = stream_result(7, gaze=False)
    values = arkit_values(result, face_model.arkit_matrix)
    parsed = messages(encode(result, face_model))
    addresses = [m.address for m in parsed]
    assert addresses == (["/VMC/Ext/Blend/Val"] * 52 + ["/VMC/Ext/Blend/Apply", "/VMC/Ext/Bone/Pos",
                         "/VMC/Ext/Root/Pos", "/VMC/Ext/OK", "/VMC/Ext/T"])
    assert [m.params[0] for m in parsed[:52]] == list(CURVE_NAMES)
    np.testing.assert_array_equal([m.params[1] for m in parsed[:52]], values[:52].astype(np.float32))
    assert parsed[52].params == []
    assert parsed[53].params[0] == "Head"
    assert parsed[54].params == ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert parsed[55].params == [1, 3, 0, 1]
    assert parsed[56].params == [pytest.approx(result.timestamp)]


def test_eyes_are_sent_only_with_gaze(face_model: FaceModel) -> None:
    assert set(bones(encode(posed(), face_model))) == {"Head"}
    assert set(bones(encode(posed(gaze=np.zeros((2, 2), np.float32)), face_model))) == {"Head", "LeftEye", "RightEye"}


def test_unity_quaternion_is_the_mirrored_head_rotation() -> None:
    mirror = np.diag([-1.0, 1.0, 1.0])
    for yaw, pitch, roll in np.random.default_rng(3).uniform(-1.2, 1.2, (50, 3)):
        expected = Rotation.from_matrix(mirror @ euler_to_matrix(yaw, pitch, roll) @ mirror).as_matrix()
        np.testing.assert_allclose(Rotation.from_quat(unity_quaternion(yaw, pitch, roll)).as_matrix(), expected,
                                   atol=1e-12)


def test_head_and_eye_bones_in_unity_frame(face_model: FaceModel) -> None:
    # Unity: x to the avatar's right, y up, z out of the face (left-handed); identity = facing the camera.
    head_at, rotation = bones(encode(posed(), face_model))["Head"]
    np.testing.assert_allclose(rotation.as_quat(), [0, 0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(head_at, [-0.01, 0.02, -0.5], atol=1e-6)
    # Turning to the subject's own left turns the avatar to its left (-x).
    assert bones(encode(posed(yaw=0.4), face_model))["Head"][1].apply(FORWARD)[0] == pytest.approx(-np.sin(0.4))
    # Nodding down points the face down (-y).
    assert bones(encode(posed(pitch=0.3), face_model))["Head"][1].apply(FORWARD)[1] == pytest.approx(-np.sin(0.3))
    # Tilting toward the right shoulder moves the top of the head to the avatar's right (+x).
    assert bones(encode(posed(roll=0.2), face_model))["Head"][1].apply(UP)[0] == pytest.approx(np.sin(0.2))
    # The left eye looking to the subject's left and down; the right eye straight ahead.
    gaze = np.array([[0.25, 0.1], [0.0, 0.0]], np.float32)
    eyes = bones(encode(posed(gaze=gaze), face_model))
    left = eyes["LeftEye"][1].apply(FORWARD)
    assert left[0] < -0.2 and left[1] < -0.05
    np.testing.assert_allclose(eyes["RightEye"][1].as_quat(), [0, 0, 0, 1], atol=1e-6)


def test_python_osc_parses_bundles_from_the_sender(face_model: FaceModel) -> None:
    receiver = Collector()
    target = parse_target(f"vmc:127.0.0.1:{receiver.port}")
    results = [stream_result(i, gaze=i % 2 == 1) for i in range(20)]
    with StreamSender([target], face_model.arkit_matrix) as sender:
        for result in results:
            sender.submit(result)
        assert sender.flush()
    datagrams = receiver.wait_for(len(results))
    receiver.close()
    assert len(datagrams) == len(results)
    for result, datagram in zip(results, datagrams, strict=True):
        parsed = messages(datagram)
        values = arkit_values(result, face_model.arkit_matrix).astype(np.float32)
        blend = {m.params[0]: m.params[1] for m in parsed if m.address == "/VMC/Ext/Blend/Val"}
        np.testing.assert_array_equal([blend[name] for name in CURVE_NAMES], values[:52])
        assert parsed[-1].params[0] == pytest.approx(result.timestamp)
        assert ("LeftEye" in bones(parsed)) == (result.gaze is not None)


def test_bundle_bytes_equal_python_osc_builders(face_model: FaceModel) -> None:
    """Our prefix-and-pack layout is byte for byte what python-osc's builders make."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    result = stream_result(3, gaze=True)
    datagram = encode(result, face_model)
    builder = OscBundleBuilder(IMMEDIATELY)
    for message in messages(datagram):
        rebuilt = OscMessageBuilder(message.address)
        for param in message.params:
            rebuilt.add_arg(param)
        builder.add_content(rebuilt.build())
    assert builder.build().dgram == datagram


def test_eye_positions_are_the_eye_landmark_centres(face_model: FaceModel) -> None:
    result = stream_result(5, gaze=True)
    eyes = bones(encode(result, face_model))
    np.testing.assert_allclose(eyes["LeftEye"][0], -result.landmarks_3d[42:48].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(eyes["RightEye"][0], -result.landmarks_3d[36:42].mean(axis=0), atol=1e-6)
