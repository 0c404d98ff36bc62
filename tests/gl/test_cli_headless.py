"""``main.py --headless``: the contract's report, exit status and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main

pytestmark = pytest.mark.gl
REPO = Path(__file__).resolve().parents[2]


def test_headless_run_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.json"
    assert main.main(["--headless", "--source", "synthetic:seed=1,width=160,height=120",
                      "--frames", "5", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["source"] == "synthetic:seed=1,width=160,height=120"
    assert data["mode"] == "rgbd" and data["frames"] == 5 and data["dropped_frames"] == 0
    assert data["fps"] > 0 and data["stage_ms"]["decode"] > 0


def test_mode_is_honoured(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main.main(["--headless", "--source", "synthetic:width=96,height=96", "--mode", "rgb",
                      "--frames", "1", "--report", str(report)]) == 0
    assert json.loads(report.read_text())["mode"] == "rgb"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nonsense"], "unknown source 'nonsense'"),
        (["--source", "/no/such/take.r3d"], "no such file"),
        (["--source", "synthetic:seed=x"], "not a number"),
        (["--frames", "0"], "--frames must be at least 1"),
        (["--source", "synthetic:width=96,height=96", "--frames", "1", "--report", "/proc/forbidden/r.json"],
         "cannot write the report"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "main.py", "--headless", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
