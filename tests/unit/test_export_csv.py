"""Live Link Face CSV read back by column: names, timecode, ARKit curves and head angles."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from app.export import LiveLinkCsvExporter, exporter_for
from app.export.livelink_csv import BLEND_SHAPE_COUNT, COLUMNS, head_angles, timecode
from app.export.samples import synthetic_results
from models.face_model import ARKIT_NAMES
from models.geometry import head_pose_to_camera

FPS = 30.0

APPLE_CURVES = (
    "EyeBlinkLeft EyeLookDownLeft EyeLookInLeft EyeLookOutLeft EyeLookUpLeft EyeSquintLeft EyeWideLeft "
    "EyeBlinkRight EyeLookDownRight EyeLookInRight EyeLookOutRight EyeLookUpRight EyeSquintRight EyeWideRight "
    "JawForward JawRight JawLeft JawOpen MouthClose MouthFunnel MouthPucker MouthRight MouthLeft "
    "MouthSmileLeft MouthSmileRight MouthFrownLeft MouthFrownRight MouthDimpleLeft MouthDimpleRight "
    "MouthStretchLeft MouthStretchRight MouthRollLower MouthRollUpper MouthShrugLower MouthShrugUpper "
    "MouthPressLeft MouthPressRight MouthLowerDownLeft MouthLowerDownRight MouthUpperUpLeft MouthUpperUpRight "
    "BrowDownLeft BrowDownRight BrowInnerUp BrowOuterUpLeft BrowOuterUpRight CheekPuff CheekSquintLeft "
    "CheekSquintRight NoseSneerLeft NoseSneerRight TongueOut").split()
ROTATIONS = ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
             "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]


def read_csv(path):
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope="module")
def take(face_model):
    results = synthetic_results(face_model, 40, FPS, missing={0, 1, 20})
    # a gap: source frames 30..31 have no result (not processed)
    return results[:30] + results[32:]


@pytest.fixture(scope="module")
def table(tmp_path_factory, face_model, take):
    path = tmp_path_factory.mktemp("csv") / "take.csv"
    assert isinstance(exporter_for(path), LiveLinkCsvExporter)
    exporter_for(path).export(take, fps=FPS, face_model=face_model)
    return read_csv(path)


def test_columns_in_live_link_order(table):
    names, _ = table
    assert names == ["Timecode", "BlendShapeCount", *APPLE_CURVES, *ROTATIONS]
    assert tuple(names) == COLUMNS and len(APPLE_CURVES) == 52


def test_one_row_per_source_frame_with_timecodes(table):
    _, rows = table
    assert len(rows) == 40  # gap frames 30, 31 filled in
    assert rows[0]["Timecode"] == "00:00:00:00.000"
    assert rows[31]["Timecode"] == "00:00:01:01.000"
    assert {row["BlendShapeCount"] for row in rows} == {str(BLEND_SHAPE_COUNT)} == {"61"}


def test_curves_and_head_angles(table, take, face_model):
    _, rows = table
    by_index = {r.index: r for r in take}
    for i, row in enumerate(rows):
        result = by_index.get(i)
        if result is None or not result.found:
            source = {0: None, 1: None, 20: by_index[19], 30: by_index[29], 31: by_index[29]}[i]
        else:
            source = result
        curves = np.array([float(row[name]) for name in APPLE_CURVES])
        angles = np.array([float(row[name]) for name in ROTATIONS])
        if source is None:  # before the first face: neutral
            assert not curves.any() and not angles.any()
            continue
        expected = face_model.to_arkit(source.expression)
        np.testing.assert_allclose(curves, [expected[n] for n in ARKIT_NAMES], atol=1e-7)
        np.testing.assert_allclose(angles[:3], head_angles(source.rotation), atol=1e-7)
        assert not angles[3:].any()  # eyes not estimated
        assert float(row["TongueOut"]) == 0.0


def test_arkit_merges_split_ict_shapes(tmp_path, face_model, take):
    expression = np.zeros(face_model.num_expression, np.float32)
    names = face_model.expression_names
    expression[names.index("browInnerUp_L")] = 0.2
    expression[names.index("browInnerUp_R")] = 0.6
    expression[names.index("eyeBlink_L")] = 0.9
    result = dataclasses.replace(take[5], expression=expression)
    path = exporter_for(tmp_path / "one.csv").export([result], fps=FPS, face_model=face_model)
    row = read_csv(path)[1][0]
    assert float(row["BrowInnerUp"]) == pytest.approx(0.4)
    assert float(row["EyeBlinkLeft"]) == pytest.approx(0.9)
    assert float(row["EyeBlinkRight"]) == 0.0


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0.3, 0, 0), (0, 0.2, 0), (0, 0, -0.25), (0.2, -0.1, 0.15)])
def test_head_angle_conventions(yaw, pitch, roll):
    # yaw > 0: the subject turns to their left; pitch > 0: nods down; roll > 0: tilts to the right shoulder
    assert head_angles(head_pose_to_camera(yaw, pitch, roll)) == pytest.approx((yaw, pitch, roll), abs=1e-12)
    turned = head_pose_to_camera(0.3, 0, 0) @ np.array([0, 0, 1.0])  # face direction, OpenCV camera
    assert turned[0] > 0  # looks toward the image's right: the subject's own left


def test_space_does_not_change_the_curves(tmp_path, face_model, take):
    a = exporter_for(tmp_path / "gl.csv").export(take[:5], fps=FPS, face_model=face_model, space="gl")
    b = exporter_for(tmp_path / "cv.csv").export(take[:5], fps=FPS, face_model=face_model, space="opencv")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(("seconds", "fps", "expected"), [
    (0.0, 30.0, "00:00:00:00.000"),
    (1 / 30, 30.0, "00:00:00:01.000"),
    (0.1, 30.0, "00:00:00:03.000"),
    (59 + 59.6 / 60, 60.0, "00:00:59:59.600"),
    (60 + 0.4 / 60, 60.0, "00:01:00:00.400"),
    (3600 + 61.5, 30.0, "01:01:01:15.000"),
    (1 / 60, 30.0, "00:00:00:00.500"),
    (10.0, 29.97, "00:00:09:29.700"),
])
def test_timecode(seconds, fps, expected):
    assert timecode(seconds, fps) == expected
