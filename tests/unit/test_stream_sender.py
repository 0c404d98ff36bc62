"""The sender thread: order, no face no datagram, absent or vanishing receivers, bounded queue."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from pylivelinkface import PyLiveLinkFace

from app.stream import StreamSender, parse_target
from models.face_model import FaceModel
from tests.unit.test_stream_livelink import Collector, stream_result


def receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    return sock


def free_port() -> int:
    """A UDP port that nobody listens on (bound, then released)."""
    sock = receiver()
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_two_targets_every_face_once_in_order(face_model: FaceModel) -> None:
    livelink, vmc = Collector(), Collector()
    targets = [parse_target(f"livelink:127.0.0.1:{livelink.port}"), parse_target(f"vmc:127.0.0.1:{vmc.port}")]
    results = [stream_result(i, found=i % 7 != 0) for i in range(100)]
    sender = StreamSender(targets, face_model.arkit_matrix, capacity=len(results))  # a burst, no drop
    for result in results:
        sender.submit(result)
    sender.close()
    expected = [r.index for r in results if r.found]
    assert [PyLiveLinkFace.decode(d)[1]._frames for d in livelink.wait_for(len(expected))] == expected
    bundles = vmc.wait_for(len(expected))
    assert len(bundles) == len(expected) and all(b.startswith(b"#bundle") for b in bundles)
    assert sender.submitted == sender.frames_sent == len(expected) and sender.dropped == 0
    assert {spec: (s.sent, s.failed) for spec, s in sender.stats.items()} == {
        t.spec: (len(expected), 0) for t in targets}
    assert not any(t.name == "facefromx-stream" and t.is_alive() for t in threading.enumerate())
    livelink.close()
    vmc.close()


def test_absent_and_vanishing_receivers_cost_nothing(face_model: FaceModel, caplog) -> None:
    present = receiver()
    targets = [parse_target(f"livelink:127.0.0.1:{free_port()}"),
               parse_target(f"vmc:127.0.0.1:{present.getsockname()[1]}")]
    with caplog.at_level(logging.WARNING), StreamSender(targets, face_model.arkit_matrix) as sender:
        for i in range(10):
            sender.submit(stream_result(i))
        assert sender.flush()
        for _ in range(10):
            present.recv(65536)
        present.close()  # the receiver goes away mid-take
        for i in range(10, 60):
            sender.submit(stream_result(i))
        assert sender.flush()
    assert sender.frames_sent == 60 and sender.dropped == 0
    assert not [r for r in caplog.records if r.name.startswith("app.stream")]


def test_a_failing_target_is_logged_once_and_counted(face_model: FaceModel, caplog) -> None:
    # Broadcasting without SO_BROADCAST is refused by the kernel (EACCES) on every send.
    good = receiver()
    targets = [parse_target("vmc:255.255.255.255:39539"),
               parse_target(f"livelink:127.0.0.1:{good.getsockname()[1]}")]
    with caplog.at_level(logging.WARNING), StreamSender(targets, face_model.arkit_matrix) as sender:
        for i in range(30):
            sender.submit(stream_result(i))
        assert sender.flush()
    warnings = [r for r in caplog.records if r.name.startswith("app.stream")]
    assert len(warnings) == 1 and "vmc:255.255.255.255:39539" in warnings[0].getMessage()
    assert sender.stats["vmc:255.255.255.255:39539"].failed == 30
    assert sender.stats[targets[1].spec].sent == 30 and sender.frames_sent == 30
    good.close()


def test_the_queue_is_bounded_and_drops_are_counted(face_model: FaceModel) -> None:
    sink = receiver()
    sender = StreamSender([parse_target(f"vmc:127.0.0.1:{sink.getsockname()[1]}")], face_model.arkit_matrix,
                          capacity=2)
    results = [stream_result(i) for i in range(8)]
    longest = 0
    for i in range(5000):  # far faster than the sender can encode
        sender.submit(results[i % 8])
        longest = max(longest, len(sender._queue))
    sender.close()
    assert longest <= 2
    assert sender.dropped > 0 and sender.frames_sent + sender.dropped == sender.submitted == 5000
    sink.close()


def test_submit_after_close_is_ignored(face_model: FaceModel) -> None:
    sender = StreamSender([parse_target(f"livelink:127.0.0.1:{free_port()}")], face_model.arkit_matrix)
    sender.close()
    sender.submit(stream_result(0))
    assert sender.submitted == 0


@pytest.mark.parametrize("fps", [24.0, 60.0])
def test_fps_reaches_the_frame_time(face_model: FaceModel, fps: float) -> None:
    sock = receiver()
    with StreamSender([parse_target(f"livelink:127.0.0.1:{sock.getsockname()[1]}")], face_model.arkit_matrix) as s:
        s.set_fps(fps)
        s.submit(stream_result(90, fps=fps))
    face = PyLiveLinkFace.decode(sock.recv(2048))[1]
    assert (face.fps, face._frames) == (int(fps), 90)
    sock.close()
