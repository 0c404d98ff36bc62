"""Temporaries of exports left by a killed process are recovered or removed (app.export.recover)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.export.recover import recover_stale_partials


def dead_pid() -> int:
    """The id of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_line_exports_keep_their_complete_lines(tmp_path: Path) -> None:
    pid = dead_pid()
    (tmp_path / f".take.csv.pid{pid}.abcd1234.partial").write_bytes(b"Timecode,n\n1,2\n3,4\n5,")
    (tmp_path / f".take.jsonl.pid{pid}.abcd1235.partial").write_bytes(b'{"index":0}\n{"ind')
    (tmp_path / f".take.abc.pid{pid}.abcd1236.partial").write_bytes(b"Ogawa" + bytes(100))
    (tmp_path / f".other.csv.pid{os.getpid()}.abcd1237.partial").write_bytes(b"h\n1\n")  # alive
    (tmp_path / ".fresh.csv.abcd1238.partial").write_bytes(b"h\n1\n")  # no pid, just written

    lines = recover_stale_partials(tmp_path)

    assert len(lines) == 3
    csv = next(tmp_path.glob("take-recovered-*.csv"))
    assert csv.read_bytes() == b"Timecode,n\n1,2\n3,4\n"
    jsonl = next(tmp_path.glob("take-recovered-*.jsonl"))
    assert jsonl.read_bytes() == b'{"index":0}\n'
    assert not list(tmp_path.glob(".take.abc.*")), "an unfinished Alembic archive is removed"
    assert any("Alembic" in line and "removed" in line for line in lines)
    assert sorted(p.name for p in tmp_path.glob(".*")) == [
        ".fresh.csv.abcd1238.partial", f".other.csv.pid{os.getpid()}.abcd1237.partial"]
