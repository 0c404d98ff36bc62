"""OBJ sequences parsed back: names by frame number, vertex order, values, UVs and faces."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.export import ExportError, ObjSequenceExporter, exporter_for
from app.export.mesh import face_topology
from app.export.obj import format_vertex_lines, frame_file_name
from app.export.samples import synthetic_results

FPS = 30.0
GL = np.diag([1.0, -1.0, -1.0])


def parse_obj(path):
    v, vt, faces = [], [], []
    with open(path) as file:
        for line in file:
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if parts[0] == "v":
                v.append([float(x) for x in parts[1:4]])
            elif parts[0] == "vt":
                vt.append([float(x) for x in parts[1:3]])
            elif parts[0] == "f":
                faces.append([[int(i) for i in corner.split("/")] for corner in parts[1:]])
    return np.array(v), np.array(vt), np.array(faces)


@pytest.fixture(scope="module")
def take(face_model):
    return synthetic_results(face_model, 8, FPS, missing={0, 3})


@pytest.fixture(scope="module")
def folder(tmp_path_factory, face_model, take):
    target = tmp_path_factory.mktemp("obj") / "seq"
    exporter = exporter_for(f"{target}/")
    assert isinstance(exporter, ObjSequenceExporter)
    assert exporter.export(take, fps=FPS, face_model=face_model) == target
    return target


def test_one_file_per_found_frame_named_by_source_frame(folder, take):
    expected = [frame_file_name(r.index) for r in take if r.found]
    assert sorted(os.listdir(folder)) == expected
    assert frame_file_name(0) == "frame_000000.obj" and "frame_000003.obj" not in expected


def test_vertices_in_face_model_order_gl_metres(folder, take):
    for result in take:
        if not result.found:
            continue
        v, _, _ = parse_obj(folder / frame_file_name(result.index))
        assert v.shape == (9409, 3)
        np.testing.assert_allclose(v, result.vertices.astype(np.float64) @ GL, atol=1e-6)


def test_shared_topology_with_uvs(folder, face_model):
    topo = face_topology(face_model)
    region = face_model.region("face")
    first = None
    for name in sorted(os.listdir(folder)):
        _, vt, faces = parse_obj(folder / name)
        if first is None:
            first = (vt, faces)
            assert faces.shape == (len(region.triangles), 3, 2)
            np.testing.assert_array_equal(faces[..., 0] - 1, region.triangles)  # same order, CCW
            np.testing.assert_allclose(vt[faces[..., 1] - 1], face_model.uvs[region.triangle_uvs], atol=5e-7)
            assert len(vt) == len(topo.uvs)
        else:
            np.testing.assert_array_equal(faces, first[1])
            np.testing.assert_array_equal(vt, first[0])


def test_opencv_space(tmp_path, face_model, take):
    target = exporter_for(tmp_path / "cv").export(take[:3], fps=FPS, face_model=face_model, space="opencv")
    v, _, _ = parse_obj(target / frame_file_name(1))
    np.testing.assert_allclose(v, take[1].vertices, atol=1e-6)


def test_existing_folder_gets_the_new_sequence_only(tmp_path, face_model, take):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "frame_000099.obj").write_text("stale")
    ObjSequenceExporter(target).export(take[:3], fps=FPS, face_model=face_model)
    assert sorted(os.listdir(target)) == ["frame_000001.obj", "frame_000002.obj", "notes.txt"]
    assert [p for p in os.listdir(tmp_path) if p != "out"] == []  # no temporary folder left


def test_no_face_at_all_is_an_error(tmp_path, face_model):
    results = synthetic_results(face_model, 2, FPS, missing={0, 1})
    with pytest.raises(ExportError, match="no face was found"):
        exporter_for(f"{tmp_path}/seq/").export(results, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def test_wrong_vertex_count_names_the_frame(tmp_path, face_model, take):
    bad = dataclasses.replace(take[1], vertices=take[1].vertices[:100])
    with pytest.raises(ExportError, match=r"^frame 1: vertices have shape \(100, 3\), expected \(9409, 3\)"):
        exporter_for(f"{tmp_path}/seq/").export([bad], fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 30), st.just(3)),
              elements=st.floats(-2000, 2000, allow_nan=False, width=32)))
def test_fast_vertex_formatting_matches_printf(values):
    text = format_vertex_lines(values).decode("ascii")
    lines = text.splitlines()
    assert len(lines) == len(values)
    for line, row in zip(lines, values, strict=True):
        fields = line.split(" ")
        assert fields[0] == "v" and len(fields) == 4  # single spaces
        parsed = np.array([float(x) for x in fields[1:]])
        np.testing.assert_allclose(parsed, row, atol=5.01e-7, rtol=0)  # 6 decimals, rounded


def test_fast_vertex_formatting_exact_on_typical_meshes():
    values = np.random.default_rng(1).normal(0, 0.2, (5000, 3)).astype(np.float32)
    expected = "".join(f"v {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in values.astype(np.float64).tolist())
    assert format_vertex_lines(values).decode("ascii") == expected


def test_non_finite_values_still_written():
    text = format_vertex_lines(np.array([[np.nan, 1.0, -np.inf]])).decode("ascii")
    assert text == "v nan 1.000000 -inf\n"
