"""The Live Link Face packet, decoded by ``pylivelinkface`` (a receiver we did not write),
alone and over a real loopback UDP socket."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from app.export.livelink_csv import timecode
from app.stream import LiveLinkEncoder, StreamSender, parse_target
from app.stream.livelink import DEVICE_ID_LENGTH, WIRE_NAMES, frame_rate, frame_time
from models.arkit_values import VALUE_NAMES, arkit_values
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.face_result import FaceResult
from models.geometry import head_pose_to_camera

pylivelinkface = pytest.importorskip("pylivelinkface")
PyLiveLinkFace, FaceBlendShape = pylivelinkface.PyLiveLinkFace, pylivelinkface.FaceBlendShape

INTRINSICS = Intrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)


def stream_result(index: int, *, fps: float = 30.0, found: bool = True, gaze: bool = False,
                  seed: int = 0) -> FaceResult:
    """A result with a random expression, a turned head 0.5 m away, landmarks, optional gaze."""
    rng = np.random.default_rng(seed * 100_003 + index)
    yaw, pitch, roll = rng.uniform(-0.5, 0.5, 3)
    return FaceResult(
        index=index, timestamp=index / fps, intrinsics=INTRINSICS, found=found,
        rotation=head_pose_to_camera(yaw, pitch, roll), translation=np.array([0.01, -0.02, 0.5]),
        expression=rng.uniform(0, 1, 53).astype(np.float32),
        vertices=np.zeros((4, 3), np.float32),
        landmarks_3d=(rng.normal(0, 0.03, (68, 3)) + [0, 0, 0.5]).astype(np.float32),
        gaze=rng.uniform(-0.3, 0.3, (2, 2)).astype(np.float32) if gaze else None,
    )


class Collector:
    """A loopback UDP receiver that drains its socket on a thread (a burst of datagrams would
    overflow the kernel's receive buffer of a socket that is read only afterwards)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(65536))
            except TimeoutError:
                continue
            except OSError:
                return

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The datagrams once ``count`` arrived (or at ``timeout``), then a short quiet check."""
        end = time.monotonic() + timeout
        while len(self.datagrams) < count and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.1)
        return list(self.datagrams)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def decode_values(face: PyLiveLinkFace) -> dict[str, float]:
    """The decoded 61 values by name (pylivelinkface's own names and positions)."""
    return {shape.name: face.get_blendshape(shape) for shape in FaceBlendShape}


def test_values_are_placed_by_name() -> None:
    values = np.arange(61, dtype=np.float64) / 64  # every value distinct, exact in float32
    ok, face = PyLiveLinkFace.decode(LiveLinkEncoder("Actor").encode(values, 0.0, 30.0))
    assert ok
    decoded = decode_values(face)
    assert set(decoded) == set(VALUE_NAMES)
    for i, name in enumerate(VALUE_NAMES):
        assert decoded[name] == values[i], name
    # The CSV order and the wire order differ: JawRight comes before JawLeft in the CSV.
    assert VALUE_NAMES.index("JawRight") < VALUE_NAMES.index("JawLeft")
    assert WIRE_NAMES.index("JawLeft") < WIRE_NAMES.index("JawRight")


@pytest.mark.parametrize("subject", ["FaceFromX", "Actor 2", "Gesicht-Ä"])
def test_header_decodes(subject: str) -> None:
    device = "0123ABCD-0000-4000-8000-00000000CAFE"
    packet = LiveLinkEncoder(subject, device).encode(np.zeros(61), 75.5 / 60, 60.0)
    ok, face = PyLiveLinkFace.decode(packet)
    assert ok and face.name == subject
    assert face.uuid == "$" + device  # pylivelinkface reads the length's last byte (36: "$") with it
    assert face._version == 6
    assert (face._frames, face._sub_frame, face.fps, face._denominator) == (75, 0.5, 60, 1)
    assert packet[0] == 6 and int.from_bytes(packet[1:5], "big") == DEVICE_ID_LENGTH


def test_default_device_id_is_a_36_character_uuid() -> None:
    packet = LiveLinkEncoder("x").encode(np.zeros(61), 0.0, 30.0)
    device = packet[5:41].decode("ascii")
    assert len(device) == 36 and device.count("-") == 4


def test_frame_time_matches_the_csv_timecode() -> None:
    for fps in (30.0, 60.0, 24.0):
        for timestamp in np.concatenate([np.arange(200) / fps, np.random.default_rng(1).uniform(0, 3600, 200)]):
            number, sub = frame_time(float(timestamp), fps)
            code = timecode(float(timestamp), fps)
            frame_in_second, thousandths = code.split(":")[3].split(".")
            assert number % round(fps) == int(frame_in_second) and round(sub * 1000) == int(thousandths)
    assert frame_time(86400.0 + 2 / 30, 30.0) == (2, 0.0)  # a time-of-day timecode wraps at 24 h


@pytest.mark.parametrize(("fps", "rate"), [(30.0, (30, 1)), (60.0, (60, 1)), (30000 / 1001, (30000, 1001)),
                                           (24000 / 1001, (24000, 1001)), (0.0, (30, 1))])
def test_frame_rate(fps: float, rate: tuple[int, int]) -> None:
    assert frame_rate(fps) == rate


def test_sender_to_a_loopback_receiver_decodes_as_the_shared_values(face_model: FaceModel) -> None:
    receiver = Collector()
    target = parse_target(f"livelink:127.0.0.1:{receiver.port}")
    results = [stream_result(i, found=i % 5 != 3, gaze=i % 2 == 0) for i in range(40)]
    with StreamSender([target], face_model.arkit_matrix, subject="Bench", fps=30.0) as sender:
        for result in results:
            sender.submit(result)
        assert sender.flush()
    sent = [r for r in results if r.found]
    datagrams = receiver.wait_for(len(sent))
    receiver.close()
    assert len(datagrams) == len(sent)  # frames without a face were not sent
    for result, datagram in zip(sent, datagrams, strict=True):
        ok, face = PyLiveLinkFace.decode(datagram)
        assert ok and face.name == "Bench" and face._frames == result.index
        decoded = decode_values(face)
        expected = arkit_values(result, face_model.arkit_matrix).astype(np.float32)
        np.testing.assert_array_equal([decoded[name] for name in VALUE_NAMES], expected)
        if result.gaze is not None:
            assert decoded["LeftEyeYaw"] == np.float32(result.gaze[0, 0])
    assert sender.frames_sent == len(sent) and sender.dropped == 0
