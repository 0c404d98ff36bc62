"""``--stream`` targets and ``--stream-subject``: parsing, defaults, one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.stream import StreamError, check_streams, check_subject, parse_target, parse_targets
from app.stream.livelink import MAX_SUBJECT_BYTES

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spec", "kind", "host", "port"),
    [
        ("livelink", "livelink", "127.0.0.1", 11111),
        ("vmc", "vmc", "127.0.0.1", 39539),
        ("livelink:localhost", "livelink", "localhost", 11111),
        ("vmc:127.0.0.2:9000", "vmc", "127.0.0.2", 9000),
        ("livelink::9001", "livelink", "127.0.0.1", 9001),
        ("VMC:127.0.0.1", "vmc", "127.0.0.1", 39539),
    ],
)
def test_targets_and_defaults(spec: str, kind: str, host: str, port: int) -> None:
    target = parse_target(spec)
    assert (target.kind, target.host, target.port) == (kind, host, port)
    assert target.family == socket.AF_INET and target.address[1] == port


def test_ipv6_host_in_brackets() -> None:
    target = parse_target("vmc:[::1]:39540")
    assert (target.host, target.port, target.family) == ("::1", 39540, socket.AF_INET6)
    assert target.spec == "vmc:[::1]:39540"


def test_a_target_named_twice_is_kept_once() -> None:
    targets = parse_targets(["livelink", "livelink:127.0.0.1:11111", "vmc"])
    assert [t.spec for t in targets] == ["livelink:127.0.0.1:11111", "vmc:127.0.0.1:39539"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("osc:127.0.0.1", "unknown stream kind 'osc'"),
        ("livelink:127.0.0.1:0", "port 0 is out of range"),
        ("vmc:127.0.0.1:65536", "port 65536 is out of range"),
        ("vmc:127.0.0.1:abc", "port 'abc' is not a number"),
        ("livelink:no-such-host.invalid", "cannot resolve host 'no-such-host.invalid'"),
        ("livelink:::1", "IPv6 host goes in brackets"),
    ],
)
def test_bad_targets_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(StreamError) as error:
        parse_target(spec)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_subject_limits() -> None:
    assert check_subject("FaceFromX") == b"FaceFromX"
    assert len(check_subject("é" * (MAX_SUBJECT_BYTES // 2))) <= MAX_SUBJECT_BYTES
    with pytest.raises(StreamError, match="is empty"):
        check_subject("  ")
    with pytest.raises(StreamError, match=f"1024 bytes long; Live Link takes at most {MAX_SUBJECT_BYTES}"):
        check_streams(["livelink"], "x" * 1024)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stream", "osc"], "unknown stream kind 'osc'"),
        (["--stream", "vmc:127.0.0.1:99999"], "out of range"),
        (["--stream", "livelink:no-such-host.invalid"], "cannot resolve host"),
        (["--stream", "livelink", "--stream-subject", "x" * 2000], "subject name is 2000 bytes long"),
        (["--stream-subject", ""], "subject name is empty"),
    ],
)
def test_headless_bad_stream_input_exits_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    csv = tmp_path / "take.csv"
    run = subprocess.run([sys.executable, "main.py", "--headless", "--frames", "2", "--export", str(csv), *args],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("main.py: ")
    assert "Traceback" not in run.stderr
    assert not csv.exists() and not list(tmp_path.iterdir())  # nothing was started
