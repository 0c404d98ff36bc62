"""Blender's own glTF importer on the rig (benchmarks/blender_gltf.py), when a bpy Python is named.

Set ``FACEFROMX_BPY_PYTHON`` to a Python that has the ``bpy`` wheel (bpy 5.x: Python 3.13,
about 1 GB) to run it; otherwise it is skipped (CI does not install Blender).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_blender_imports_one_keyed_mesh_with_the_csv_curves():
    python = os.environ.get("FACEFROMX_BPY_PYTHON")
    if not python:
        pytest.skip("FACEFROMX_BPY_PYTHON (a Python with the bpy wheel) is not set")
    done = subprocess.run([sys.executable, "-m", "benchmarks.blender_gltf", "--blender-python", python,
                           "--frames", "60"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    checks = [line for line in done.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    assert done.returncode == 0 and len(checks) == 9 and all(c.startswith("ok") for c in checks), done.stdout[-3000:]
