"""scripts/run.sh: setup runs once per set of requirements; main.py sees the caller's folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fake_checkout(root: Path) -> Path:
    """run.sh beside a setup.sh and a .venv python that only log their calls to ``calls``."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "run.sh", root / "scripts" / "run.sh")
    log = root / "calls"
    (root / "scripts" / "setup.sh").write_text(
        f'mkdir -p "{root}/.venv/bin"\n'
        f'printf \'#!/bin/sh\\necho "main $PWD $*" >> {log}\\n\' > "{root}/.venv/bin/python"\n'
        f'chmod +x "{root}/.venv/bin/python"\necho setup >> {log}\n')
    (root / "scripts" / "system-packages.sh").write_text("true\n")
    (root / "requirements.txt").write_text("numpy==2.0.0\n")
    return log


def test_setup_runs_only_when_the_requirements_change(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    log = fake_checkout(root)
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    run = [str(root / "scripts" / "run.sh"), "--headless"]
    for _ in range(2):
        subprocess.run(run, cwd=elsewhere, check=True, env=dict(os.environ))
    (root / "requirements.txt").write_text("numpy==2.0.1\n")
    subprocess.run(run, cwd=elsewhere, check=True)
    calls = log.read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["setup", "main", "main", "setup", "main"]
    assert calls[1] == f"main {elsewhere} {root}/main.py --headless", "paths stay relative to the caller"


def test_readme_first_command_writes_no_report_into_the_checkout() -> None:
    text = (REPO / "README.md").read_text()
    command = re.search(r"\./scripts/run\.sh --headless[^`]*", text)
    assert command is not None
    report = command.group(0).split("--report", 1)[1].split()[0]
    assert report.startswith("/"), command.group(0)


def test_report_and_summary_are_readable_like_other_outputs(tmp_path: Path) -> None:
    from app.recording.summary import TakeSummary
    from app.report import RunReport

    previous = os.umask(0o022)
    try:
        RunReport(source="synthetic", mode="rgbd").write(tmp_path / "report.json")
        TakeSummary().write(tmp_path / "take.summary.json")
    finally:
        os.umask(previous)
    for name in ("report.json", "take.summary.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_benchmark_help_names_no_issue() -> None:
    import sys

    done = subprocess.run([sys.executable, "-m", "benchmarks.export", "--help"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    assert "issue" not in done.stdout.lower() and "Alembic" in done.stdout
