"""A real headless run on the synthetic source streaming to loopback receivers: every frame
with a face arrives once, in order, and equals the CSV export's row of that frame."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pylivelinkface import FaceBlendShape, PyLiveLinkFace
from pythonosc.osc_bundle import OscBundle

from models.arkit_values import CURVE_NAMES, VALUE_NAMES
from tests.unit.test_stream_livelink import Collector

pytestmark = pytest.mark.gl
REPO = Path(__file__).resolve().parents[2]
FRAMES = 30


def test_streamed_frames_equal_the_csv_rows(tmp_path: Path) -> None:
    livelink, vmc = Collector(), Collector()
    out_csv, report = tmp_path / "x.csv", tmp_path / "r.json"
    run = subprocess.run(
        [sys.executable, "main.py", "--headless", "--frames", str(FRAMES), "--export", str(out_csv),
         "--report", str(report), "--stream", f"livelink:127.0.0.1:{livelink.port}",
         "--stream", f"vmc:127.0.0.1:{vmc.port}", "--stream-subject", "Take 1"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    found = json.loads(report.read_text())["faces_found"]
    packets, bundles = livelink.wait_for(found), vmc.wait_for(found)
    livelink.close()
    vmc.close()
    with out_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == FRAMES and found >= FRAMES - 2
    assert len(packets) == len(bundles) == found

    frames = []
    for packet in packets:
        ok, face = PyLiveLinkFace.decode(packet)
        assert ok and face.name == "Take 1" and (face.fps, face._denominator) == (30, 1)
        frames.append(face._frames)
        row = rows[face._frames]
        assert row["Timecode"].endswith(f":{face._frames % 30:02d}.000")
        streamed = np.array([face.get_blendshape(FaceBlendShape[name]) for name in VALUE_NAMES])
        expected = np.array([float(row[name]) for name in VALUE_NAMES])
        np.testing.assert_allclose(streamed, expected, rtol=1e-6, atol=1e-7)
    assert frames == sorted(set(frames))  # each once, in order

    for bundle_bytes, frame in zip(bundles, frames, strict=True):
        bundle = OscBundle(bundle_bytes)
        messages = [bundle.content(i) for i in range(bundle.num_contents)]
        blend = {m.params[0]: m.params[1] for m in messages if m.address == "/VMC/Ext/Blend/Val"}
        expected = np.array([float(rows[frame][name]) for name in CURVE_NAMES])
        np.testing.assert_allclose([blend[name] for name in CURVE_NAMES], expected, rtol=1e-6, atol=1e-7)
        assert messages[-1].params[0] == pytest.approx(frame / 30, abs=1e-6)
