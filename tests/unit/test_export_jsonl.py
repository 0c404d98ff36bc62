"""JSON Lines export: exactly the contract's fields, one object per source frame, in the export space."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from app.export import JsonlExporter, exporter_for
from app.export.samples import synthetic_results

FPS = 30.0
GL = np.diag([1.0, -1.0, -1.0])
FIELDS = ["index", "timestamp", "found", "intrinsics", "rotation", "translation", "identity",
          "expression", "landmarks_2d", "landmarks_3d", "gaze", "blink"]


def read_jsonl(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


@pytest.fixture(scope="module")
def take(face_model):
    results = synthetic_results(face_model, 12, FPS, missing={0, 6})
    return results[:8] + results[9:]  # source frame 8 has no result


@pytest.fixture(scope="module", params=["gl", "opencv"])
def lines(request, tmp_path_factory, face_model, take):
    path = tmp_path_factory.mktemp("jsonl") / "take.jsonl"
    assert isinstance(exporter_for(path), JsonlExporter)
    exporter_for(path).export(take, fps=FPS, face_model=face_model, space=request.param)
    return request.param, read_jsonl(path)


def test_exact_fields_one_per_source_frame(lines):
    _, records = lines
    assert [r["index"] for r in records] == list(range(12))
    for record in records:
        assert list(record) == FIELDS
        assert list(record["intrinsics"]) == ["fx", "fy", "cx", "cy"]


def test_values_in_the_export_space(lines, take, face_model):
    space, records = lines
    s = GL if space == "gl" else np.eye(3)
    by_index = {r.index: r for r in take}
    for i in (1, 5, 11):
        record, result = records[i], by_index[i]
        assert record["found"] is True and record["timestamp"] == pytest.approx(result.timestamp)
        np.testing.assert_allclose(record["rotation"], s @ result.rotation, atol=1e-12)
        np.testing.assert_allclose(record["translation"], s @ result.translation, atol=1e-12)
        np.testing.assert_allclose(record["identity"], result.identity, atol=1e-7)
        assert len(record["identity"]) == 100
        assert list(record["expression"]) == list(face_model.expression_names)
        np.testing.assert_allclose(list(record["expression"].values()), result.expression, atol=1e-7)
        np.testing.assert_allclose(record["landmarks_2d"], result.landmarks_2d, atol=1e-4)
        np.testing.assert_allclose(record["landmarks_3d"], result.landmarks_3d @ s, atol=1e-6)
        assert np.array(record["landmarks_2d"]).shape == (68, 2)
        cam = result.intrinsics
        assert record["intrinsics"] == {"fx": cam.fx, "fy": cam.fy, "cx": cam.cx, "cy": cam.cy}
    # camera-from-head stays a rotation and maps head-frame landmarks onto the exported ones
    r, t = np.array(records[5]["rotation"]), np.array(records[5]["translation"])
    assert np.linalg.det(r) == pytest.approx(1.0)
    head = face_model.landmarks(face_model.vertices(by_index[5].identity, by_index[5].expression, "face"))
    np.testing.assert_allclose(head @ r.T + t, records[5]["landmarks_3d"], atol=1e-5)


def test_frames_without_a_face(lines, take):
    _, records = lines
    first = records[0]
    assert first["found"] is False
    assert all(first[key] is None for key in FIELDS[4:])  # before the first face: null
    assert first["intrinsics"]["fx"] == take[0].intrinsics.fx
    held = records[6]
    assert held["found"] is False and held["identity"] == records[5]["identity"]  # the last face, repeated
    assert held["rotation"] == records[5]["rotation"]
    gap = records[8]  # no result at all: filled in, time from the frame rate
    assert gap["found"] is False and gap["index"] == 8
    assert gap["timestamp"] == pytest.approx(8 / FPS)
    assert gap["translation"] == records[7]["translation"]


def test_gap_before_any_face(tmp_path, face_model):
    results = synthetic_results(face_model, 4, FPS, missing={0, 1, 2, 3})
    path = exporter_for(tmp_path / "gap.jsonl").export([results[0], results[3]], fps=FPS, face_model=face_model)
    records = read_jsonl(path)
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert records[1]["intrinsics"]["cx"] == results[0].intrinsics.cx and records[1]["rotation"] is None


def test_gaze_and_blink_keys(tmp_path, face_model):
    """gaze: left/right yaw and pitch (radians, ARKit signs); blink: left/right; null where unmeasured."""
    results = synthetic_results(face_model, 3, FPS)
    gaze = np.array([[0.2, -0.1], [0.15, 0.05]], np.float32)
    blink = np.array([0.9, 0.1], np.float32)
    results[1] = replace(results[1], gaze=gaze, blink=blink)
    records = read_jsonl(exporter_for(tmp_path / "eyes.jsonl").export(results, fps=FPS, face_model=face_model))
    assert records[0]["gaze"] is None and records[0]["blink"] is None
    eyes = records[1]
    assert list(eyes["gaze"]) == ["left", "right"] and list(eyes["gaze"]["left"]) == ["yaw", "pitch"]
    assert eyes["gaze"]["left"]["yaw"] == pytest.approx(0.2) and eyes["gaze"]["left"]["pitch"] == pytest.approx(-0.1)
    assert eyes["gaze"]["right"]["yaw"] == pytest.approx(0.15) and eyes["gaze"]["right"]["pitch"] == pytest.approx(0.05)
    assert eyes["blink"] == {"left": pytest.approx(0.9), "right": pytest.approx(0.1)}
