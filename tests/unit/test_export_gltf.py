"""glTF rig export read back: structure, names, frames, weights vs CSV, replay vs OBJ, bad input.

The file is read by a strict reader written here (GLB container, alignment, accessor bounds,
sparse accessors), by pygltflib, and by the Khronos glTF validator when ``node`` and the npm
package ``gltf-validator`` are installed (``scripts/setup.sh dev`` puts it in ``.venv/node``;
skipped otherwise).
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import errno
import gc
import json
import os
import shutil
import struct
import subprocess
import threading
import tracemalloc
import weakref
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

import app.export.target as target
from app.export import ExportCancelled, ExportError, GltfExporter, exporter_for
from app.export.gltf_rig import TRIM_M, DetailLayer, arkit_target_matrix, eye_quaternions, split_pair_error
from app.export.samples import synthetic_results
from models.arkit_values import CURVE_NAMES
from models.camera import Intrinsics
from models.face_model import REGION_SIZES

FPS = 30.0
GL = np.diag([1.0, -1.0, -1.0])
N = REGION_SIZES["face"]
_DTYPES = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


class GltfTake:
    """A .glb or .gltf file parsed strictly: ``json`` (dict), ``accessor(i)`` -> numpy."""

    def __init__(self, path):
        data = path.read_bytes()
        if path.suffix == ".glb":
            magic, version, length = struct.unpack_from("<4sII", data, 0)
            assert (magic, version, length) == (b"glTF", 2, len(data))
            json_length, kind = struct.unpack_from("<I4s", data, 12)
            assert kind == b"JSON" and json_length % 4 == 0
            self.json = json.loads(data[20:20 + json_length])
            offset = 20 + json_length
            bin_length, kind = struct.unpack_from("<I4s", data, offset)
            assert kind == b"BIN\0" and bin_length % 4 == 0 and offset + 8 + bin_length == len(data)
            self.bin = data[offset + 8:]
            assert "uri" not in self.json["buffers"][0]
        else:
            self.json = json.loads(data)
            uri = self.json["buffers"][0]["uri"]
            assert uri.startswith("data:application/octet-stream;base64,")
            self.bin = base64.b64decode(uri.split(",", 1)[1])
        assert len(self.json["buffers"]) == 1 and self.json["buffers"][0]["byteLength"] == len(self.bin)
        assert self.json["asset"]["version"] == "2.0"
        self.gltf = pygltflib.GLTF2.load(str(path))  # the library's own reader accepts it too

    def _view(self, index, dtype, count, width):
        view = self.json["bufferViews"][index]
        start = view.get("byteOffset", 0)
        assert start % 4 == 0 and start + view["byteLength"] <= len(self.bin)
        assert view["byteLength"] == count * width * np.dtype(dtype).itemsize
        return np.frombuffer(self.bin, dtype=dtype, count=count * width, offset=start).reshape(count, width)

    def accessor(self, index):
        spec = self.json["accessors"][index]
        dtype, width, count = _DTYPES[spec["componentType"]], _WIDTHS[spec["type"]], spec["count"]
        if "bufferView" in spec:
            assert spec.get("byteOffset", 0) == 0
            values = self._view(spec["bufferView"], dtype, count, width).copy()
        else:
            values = np.zeros((count, width), dtype)
        if "sparse" in spec:
            sparse = spec["sparse"]
            indices = self._view(sparse["indices"]["bufferView"], _DTYPES[sparse["indices"]["componentType"]],
                                 sparse["count"], 1)[:, 0]
            assert (np.diff(indices.astype(np.int64)) > 0).all() and indices.max() < count
            values[indices] = self._view(sparse["values"]["bufferView"], dtype, sparse["count"], width)
        if "min" in spec:
            np.testing.assert_array_equal(values.min(axis=0), np.asarray(spec["min"], dtype))
            np.testing.assert_array_equal(values.max(axis=0), np.asarray(spec["max"], dtype))
        return values[:, 0] if width == 1 else values

    def node(self, name):
        return next(i for i, node in enumerate(self.json["nodes"]) if node.get("name") == name)

    def channel(self, name, path):
        node = self.node(name)
        animation = self.json["animations"][0]
        found = [c for c in animation["channels"] if c["target"] == {"node": node, "path": path}]
        if not found:
            return None
        sampler = animation["samplers"][found[0]["sampler"]]
        return self.accessor(sampler["input"]), self.accessor(sampler["output"])

    def face_primitive(self):
        return self.json["meshes"][self.json["nodes"][self.node("face")]["mesh"]]["primitives"][0]

    def weights(self):
        _, values = self.channel("face", "weights")
        return values.reshape(-1, len(CURVE_NAMES))

    def replay(self, k):
        """(V, 3) the face mesh of animation key ``k`` in the export space: T * R * (base + sum w t)."""
        primitive = self.face_primitive()
        local = self.accessor(primitive["attributes"]["POSITION"]).astype(np.float64)
        for weight, morph in zip(self.weights()[k], primitive["targets"], strict=True):
            local += weight * self.accessor(morph["POSITION"])
        _, rotation = self.channel("face", "rotation")
        _, translation = self.channel("face", "translation")
        return local @ Rotation.from_quat(rotation[k]).as_matrix().T + translation[k]


def read_obj_vertices(path):
    with open(path) as file:
        lines = [line[2:] for line in file if line.startswith("v ")]
    return np.array(" ".join(lines).split(), dtype=np.float64).reshape(-1, 3)


def read_csv(path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    return rows[0], np.array([[float(x) for x in row[2:]] for row in rows[1:]])


def posed(model, result, expression, extra=None):
    """``result`` with another expression (and an optional head-frame offset), vertices redone."""
    head = model.vertices(result.identity, expression, region="face").astype(np.float64)
    if extra is not None:
        head = head + extra
    vertices = (head @ result.rotation.T + result.translation).astype(np.float32)
    return dataclasses.replace(result, expression=np.asarray(expression, np.float32), vertices=vertices)


def symmetric(model, expression):
    """The expression with each split pair's halves set to their mean (what ARKit can carry)."""
    out = np.array(expression, np.float32)
    for row in arkit_target_matrix(model):
        halves = np.flatnonzero(row)
        if len(halves) == 2:
            out[halves] = out[halves].mean()
    return out


@pytest.fixture(scope="module")
def take(face_model):
    return synthetic_results(face_model, 12, FPS, missing={0, 1, 6, 7})


@pytest.fixture(scope="module")
def exported(tmp_path_factory, face_model, take):
    folder = tmp_path_factory.mktemp("gltf")
    for name in ("take.glb", "take.gltf", "take.csv"):
        exporter_for(folder / name).export(take, fps=FPS, face_model=face_model)
    return folder


@pytest.fixture(scope="module")
def glb(exported):
    return GltfTake(exported / "take.glb")


# -- the Khronos validator ---------------------------------------------------------------------

VALIDATE_JS = """
const validator = require('gltf-validator');
const data = new Uint8Array(require('fs').readFileSync(process.argv[1]));
validator.validateBytes(data, {uri: process.argv[1]}).then(r => console.log(JSON.stringify(r.issues)))
  .catch(e => { console.error(String(e)); process.exit(1); });
"""


def khronos_validator():
    """The environment to run the npm package ``gltf-validator`` with node, or skip."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (the Khronos glTF validator runs on node)")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False).stdout.strip()
    local = str(Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules")  # scripts/setup.sh dev
    env = {**os.environ, "NODE_PATH": os.pathsep.join(p for p in (os.environ.get("NODE_PATH"), local, root) if p)}
    found = subprocess.run([node, "-e", "require.resolve('gltf-validator')"], env=env, capture_output=True, check=False)
    if found.returncode != 0:
        pytest.skip("the npm package gltf-validator is not installed (scripts/setup.sh dev installs it)")
    return node, env


@pytest.mark.parametrize("name", ["take.glb", "take.gltf"])
def test_khronos_validator_finds_no_error_or_warning(exported, name):
    node, env = khronos_validator()
    done = subprocess.run([node, "-e", VALIDATE_JS, str(exported / name)], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    issues = json.loads(done.stdout)
    assert (issues["numErrors"], issues["numWarnings"]) == (0, 0), issues["messages"][:10]
    # the only notes: UVs that no texture uses yet
    assert {m["code"] for m in issues["messages"]} <= {"UNUSED_OBJECT"}


# -- structure ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "binary"), [("a.glb", True), ("A.GLB", True), ("a.gltf", False), ("x/A.GLTF", False)])
def test_dispatch_picks_the_gltf_exporter(tmp_path, face_model, path, binary):
    exporter = exporter_for(path)
    assert type(exporter) is GltfExporter
    session = GltfExporter(tmp_path / path.split("/")[-1]).open(fps=FPS, face_model=face_model)
    assert session.binary is binary
    session.abort()


def test_scene_nodes_meshes_and_camera(glb):
    doc = glb.json
    names = [node["name"] for node in doc["nodes"]]
    assert sorted(names) == ["camera", "eyeLeft", "eyeRight", "face"]
    scene = doc["scenes"][doc["scene"]]
    assert sorted(names[i] for i in scene["nodes"]) == ["camera", "face"]
    face = doc["nodes"][glb.node("face")]
    assert sorted(names[i] for i in face["children"]) == ["eyeLeft", "eyeRight"]
    assert [m["name"] for m in doc["meshes"]] == ["face", "eyeLeft", "eyeRight"]
    primitive = glb.face_primitive()
    assert set(primitive["attributes"]) == {"POSITION", "NORMAL", "TEXCOORD_0"}
    assert doc["asset"]["extras"]["space"] == "gl" and doc["asset"]["extras"]["fps"] == FPS


def test_face_mesh_is_the_face_region_with_seam_copies_unit_normals_and_uvs(glb, face_model):
    primitive = glb.face_primitive()
    positions = glb.accessor(primitive["attributes"]["POSITION"])
    normals = glb.accessor(primitive["attributes"]["NORMAL"])
    uvs = glb.accessor(primitive["attributes"]["TEXCOORD_0"])
    triangles = glb.accessor(primitive["indices"]).reshape(-1, 3)
    extras = glb.json["meshes"][0]["extras"]
    assert extras["faceModelVertices"] == N
    source = np.concatenate([np.arange(N), extras["seamVertices"]])
    assert len(positions) == len(normals) == len(uvs) == len(source) > N
    np.testing.assert_array_equal(positions[N:], positions[source[N:]])  # seam copies share positions
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(uvs).all()  # ICT-FaceKit lays its UVs out in tiles (u up to 2)
    # same triangles as the face region, corner for corner, once mapped back to model vertices
    np.testing.assert_array_equal(source[triangles], face_model.region("face").triangles)
    # each corner's UV is the model's UV for that corner (glTF flips v)
    model_uvs = face_model.uvs[face_model.region("face").triangle_uvs]
    np.testing.assert_allclose(uvs[triangles][..., 0], model_uvs[..., 0], atol=1e-7)
    np.testing.assert_allclose(uvs[triangles][..., 1], 1.0 - model_uvs[..., 1], atol=1e-7)


def test_52_morph_targets_named_like_the_csv_columns_sparse_and_trimmed(glb, exported, face_model):
    columns, _ = read_csv(exported / "take.csv")
    names = glb.json["meshes"][0]["extras"]["targetNames"]
    assert names == list(CURVE_NAMES) == columns[2:54]
    targets = glb.face_primitive()["targets"]
    assert len(targets) == 52 and glb.json["meshes"][0]["weights"] == [0.0] * 52
    count = len(glb.accessor(glb.face_primitive()["attributes"]["POSITION"]))
    moved = []
    for name, morph in zip(names, targets, strict=True):
        spec = glb.json["accessors"][morph["POSITION"]]
        assert "bufferView" not in spec  # sparse only
        moved.append(spec["sparse"]["count"] if "sparse" in spec else 0)
        offsets = glb.accessor(morph["POSITION"])
        kept = np.linalg.norm(offsets, axis=1) > 0
        assert (np.linalg.norm(offsets[kept], axis=1) > TRIM_M).all(), name
    assert moved[names.index("TongueOut")] == 0  # ICT has no tongue shape
    assert all(0 < m < count for i, m in enumerate(moved) if names[i] != "TongueOut")
    # the split pair's target is the sum of its halves
    jaw = glb.accessor(targets[names.index("JawOpen")]["POSITION"])[:N]
    np.testing.assert_allclose(jaw, face_model.expression_basis[face_model.expression_names.index("jawOpen"), :N]
                               * (np.linalg.norm(jaw, axis=1) > 0)[:, None], atol=1e-7)
    brow = glb.accessor(targets[names.index("BrowInnerUp")]["POSITION"])[:N]
    halves = [face_model.expression_names.index(f"browInnerUp_{side}") for side in "LR"]
    expected = face_model.expression_basis[halves, :N].sum(axis=0)
    np.testing.assert_allclose(brow, expected * (np.linalg.norm(expected, axis=1) > TRIM_M)[:, None], atol=1e-7)


def test_one_key_per_source_frame_at_the_take_rate(glb, take):
    times, weights = glb.channel("face", "weights")
    np.testing.assert_allclose(times, [r.index / FPS for r in take], rtol=1e-6)
    assert len(weights) == 52 * len(take)
    for path in ("rotation", "translation"):
        assert len(glb.channel("face", path)[0]) == len(take)
    assert glb.json["asset"]["extras"]["missingFrames"] == [0, 1, 6, 7]
    assert len(glb.json["animations"]) == 1


def test_weights_equal_the_csv_curves(glb, exported):
    _, values = read_csv(exported / "take.csv")
    np.testing.assert_allclose(glb.weights(), values[:, :52], atol=1e-7)


def test_gltf_json_form_holds_the_same_rig(glb, exported):
    text = GltfTake(exported / "take.gltf")
    np.testing.assert_array_equal(text.weights(), glb.weights())
    np.testing.assert_array_equal(text.replay(5), glb.replay(5))


# -- replay ------------------------------------------------------------------------------------

def export_pair(folder, model, results, space="gl"):
    exporter_for(folder / "take.glb").export(results, fps=FPS, face_model=model, space=space)
    exporter_for(f"{folder / 'obj'}/").export(results, fps=FPS, face_model=model, space=space)
    return GltfTake(folder / "take.glb")


def frame_obj(folder, index):
    return read_obj_vertices(folder / "obj" / f"frame_{index:06d}.obj")


@pytest.mark.parametrize("space", ["gl", "opencv"])
def test_replaying_the_weights_gives_the_obj_frames(tmp_path, face_model, take, space):
    results = [posed(face_model, r, symmetric(face_model, r.expression)) if r.found else r for r in take]
    rig = export_pair(tmp_path, face_model, results, space)
    for k, result in enumerate(results):
        if result.found:
            error = np.linalg.norm(rig.replay(k)[:N] - frame_obj(tmp_path, result.index), axis=1)
            assert error.max() < 1e-4, f"frame {result.index}: {error.max() * 1000:.3f} mm"


def test_split_pairs_miss_the_mesh_by_half_their_asymmetry(tmp_path, face_model, take):
    rig = export_pair(tmp_path, face_model, take)
    worst = 0.0
    for k, result in enumerate(take):
        if result.found:
            offset = split_pair_error(face_model, result.expression) @ result.rotation.T @ GL.T
            expected = frame_obj(tmp_path, result.index) + offset
            assert np.linalg.norm(rig.replay(k)[:N] - expected, axis=1).max() < 1e-4
            worst = max(worst, float(np.linalg.norm(offset, axis=1).max()))
    assert worst > 1e-3  # the synthetic take is asymmetric enough for this to mean something


def test_detail_layer_is_carried_by_the_base_mesh(tmp_path, face_model, take):
    bump = np.zeros((N, 3))
    bump[:, 2] = 0.002 * np.exp(-np.sum((face_model.template[:N, :2] - [0, 0.02]) ** 2, axis=1) / 4e-4)
    results = [posed(face_model, r, symmetric(face_model, r.expression), bump) if r.found else r for r in take]
    rig = export_pair(tmp_path, face_model, results)
    k = next(i for i, r in enumerate(results) if r.found)
    assert np.linalg.norm(rig.replay(k)[:N] - frame_obj(tmp_path, results[k].index), axis=1).max() < 1e-4


def test_detail_layer_mean_and_spread(face_model):
    rng = np.random.default_rng(2)
    bump = rng.normal(0, 1e-3, (N, 3))
    layer = DetailLayer(face_model)
    layer.SPREAD_STRIDE = 1
    for k in range(40):
        identity = rng.normal(0, 0.7, face_model.num_identity).astype(np.float32)
        expression = rng.uniform(0, 1, face_model.num_expression).astype(np.float32)
        scale = 2.0 * (k % 2)  # the corrective's size changes from frame to frame: mean 1, std 1
        layer.add(face_model.vertices(identity, expression) + scale * bump, identity, expression)
    np.testing.assert_allclose(layer.mean, bump, atol=2e-6)
    assert layer.spread_m() == pytest.approx(np.linalg.norm(bump, axis=1).max(), rel=1e-3)


def test_settled_identity_is_the_last_faces(tmp_path, face_model, take):
    other = np.random.default_rng(5).normal(0, 0.7, face_model.num_identity).astype(np.float32)
    last = max(i for i, r in enumerate(take) if r.found)
    settled = dataclasses.replace(take[last], identity=other)
    results = [*take[:last], posed(face_model, settled, symmetric(face_model, settled.expression))]
    rig = export_pair(tmp_path, face_model, results)
    assert np.linalg.norm(rig.replay(last)[:N] - frame_obj(tmp_path, results[last].index), axis=1).max() < 1e-4


# -- frames without a face ---------------------------------------------------------------------

def test_frames_without_a_face_hold_the_previous_weights_and_pose(glb, take):
    weights = glb.weights()
    rotation, translation = glb.channel("face", "rotation")[1], glb.channel("face", "translation")[1]
    np.testing.assert_array_equal(weights[6], weights[5])
    np.testing.assert_array_equal(weights[7], weights[5])
    np.testing.assert_array_equal(rotation[7], rotation[5])
    np.testing.assert_array_equal(translation[6], translation[5])
    # before the first face: neutral weights (as the CSV) at the first face's pose
    assert not weights[:2].any() and weights[2].any()
    np.testing.assert_array_equal(rotation[0], rotation[2])
    np.testing.assert_allclose(translation[0], GL @ take[2].translation, atol=1e-7)


def test_skipped_source_frames_are_filled_in(tmp_path, face_model, take):
    results = [r for r in take if r.index not in (3, 4)]
    exporter_for(tmp_path / "t.glb").export(results, fps=FPS, face_model=face_model)
    rig = GltfTake(tmp_path / "t.glb")
    times, _ = rig.channel("face", "weights")
    np.testing.assert_allclose(times * FPS, np.arange(len(take)), atol=1e-4)
    np.testing.assert_array_equal(rig.weights()[4], rig.weights()[2])


def test_pose_is_camera_from_head_in_the_export_space(tmp_path, face_model, take):
    for space, turn in (("gl", GL), ("opencv", np.eye(3))):
        exporter_for(tmp_path / f"{space}.glb").export(take, fps=FPS, face_model=face_model, space=space)
        rig = GltfTake(tmp_path / f"{space}.glb")
        rotation, translation = rig.channel("face", "rotation")[1], rig.channel("face", "translation")[1]
        for k in (2, 9):
            np.testing.assert_allclose(Rotation.from_quat(rotation[k]).as_matrix(), turn @ take[k].rotation, atol=1e-6)
            np.testing.assert_allclose(translation[k], turn @ take[k].translation, atol=1e-6)
        assert (np.einsum("ij,ij->i", rotation[1:], rotation[:-1]) > 0).all()  # no sign flips between keys


# -- eyes and camera ---------------------------------------------------------------------------

def test_eyes_sit_on_the_identitys_eyeballs_and_stay_still_without_gaze(glb, face_model, take):
    full = face_model.vertices(take[-1].identity, None, region="full")
    for name, start, stop in (("eyeLeft", 21451, 23021), ("eyeRight", 23021, 24591)):
        node = glb.json["nodes"][glb.node(name)]
        mesh = glb.json["meshes"][node["mesh"]]["primitives"][0]
        positions = glb.accessor(mesh["attributes"]["POSITION"])[: stop - start] + node["translation"]
        np.testing.assert_allclose(positions, full[start:stop], atol=1e-6)
        assert glb.channel(name, "rotation") is None
    assert glb.json["nodes"][glb.node("eyeLeft")]["translation"][0] > 0  # the subject's left: +x


def test_eyes_turn_with_the_gaze(tmp_path, face_model, take):
    gazes = [np.array([[0.3 * np.sin(k), 0.2 * np.cos(k)], [0.25 * np.sin(k), -0.1]], np.float32) for k in range(len(take))]
    results = [dataclasses.replace(r, gaze=g) if r.has_face else r for r, g in zip(take, gazes, strict=True)]
    for name in ("t.glb", "t.csv"):
        exporter_for(tmp_path / name).export(results, fps=FPS, face_model=face_model)
    rig = GltfTake(tmp_path / "t.glb")
    columns, values = read_csv(tmp_path / "t.csv")
    for eye, side in (("eyeLeft", "Left"), ("eyeRight", "Right")):
        times, rotation = rig.channel(eye, "rotation")
        assert len(times) == len(take)
        yaw, pitch = (values[:, columns.index(f"{side}Eye{a}") - 2] for a in ("Yaw", "Pitch"))
        looking = Rotation.from_quat(rotation).apply([0, 0, 1])
        expected = np.c_[np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)]
        np.testing.assert_allclose(looking, expected, atol=1e-6)
    assert yaw.any() and pitch.any()
    np.testing.assert_allclose(eye_quaternions([0.0], [0.0]), [[0, 0, 0, 1]])


def test_capture_camera_from_the_intrinsics(tmp_path, face_model):
    k = Intrinsics(fx=1400.0, fy=1390.0, cx=950.0, cy=545.0, width=1920, height=1080)
    results = synthetic_results(face_model, 3, FPS, intrinsics=k)
    for space, turn in (("gl", [0, 0, 0, 1]), ("opencv", [1, 0, 0, 0])):
        exporter_for(tmp_path / f"{space}.glb").export(results, fps=FPS, face_model=face_model, space=space)
        rig = GltfTake(tmp_path / f"{space}.glb")
        camera = rig.json["cameras"][0]
        assert camera["type"] == "perspective"
        assert camera["perspective"]["yfov"] == pytest.approx(2 * np.arctan(540 / 1390))
        assert camera["perspective"]["aspectRatio"] == pytest.approx((1920 / 1400) / (1080 / 1390))
        assert camera["extras"]["intrinsics"] == k.to_dict()
        node = rig.json["nodes"][rig.node("camera")]
        assert node["camera"] == 0 and node["rotation"] == turn and "translation" not in node


# -- streaming and bad input -------------------------------------------------------------------

def test_session_keeps_no_results(tmp_path, face_model, take):
    results = synthetic_results(face_model, 30, FPS)
    refs = [weakref.ref(r) for r in results]
    session = GltfExporter(tmp_path / "t.glb").open(fps=FPS, face_model=face_model)
    for r in results:
        session.write(r)
    del results, r
    gc.collect()
    assert sum(ref() is not None for ref in refs) <= 2  # the aligner's last and held result
    session.commit()
    assert len(GltfTake(tmp_path / "t.glb").weights()) == 30


def test_memory_per_frame_is_a_few_hundred_bytes(tmp_path, face_model, take):
    first = take[2]
    session = GltfExporter(tmp_path / "t.glb").open(fps=FPS, face_model=face_model)
    session.write(first)

    def used_after(start, stop):
        for i in range(start, stop):  # held frames: the pipeline's results for frames without a face
            session.write(dataclasses.replace(first, index=i, timestamp=i / FPS, found=False))
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        before = used_after(3, 1003)
        after = used_after(1003, 5003)
    finally:
        tracemalloc.stop()
    assert 0 < (after - before) / 4000 < 1024  # a face mesh would be 113 kB
    session.abort()


def test_take_with_no_face_is_a_clear_error_and_no_file(tmp_path, face_model, take):
    empty = [dataclasses.replace(take[0], index=i, timestamp=i / FPS) for i in range(5)]
    assert not any(r.has_face for r in empty)
    with pytest.raises(ExportError, match=r"^cannot export .*take\.glb: no face was found in any of the 5 frames$"):
        exporter_for(tmp_path / "take.glb").export(empty, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def test_cancel_leaves_no_file(tmp_path, face_model, take):
    cancel = threading.Event()

    def progress(done, total):
        if done == 5:
            cancel.set()

    (tmp_path / "take.glb").write_bytes(b"earlier")
    with pytest.raises(ExportCancelled, match="cancelled"):
        exporter_for(tmp_path / "take.glb").export(take, fps=FPS, face_model=face_model, progress=progress,
                                                   cancel=cancel)
    assert os.listdir(tmp_path) == ["take.glb"] and (tmp_path / "take.glb").read_bytes() == b"earlier"


@pytest.mark.parametrize("name", ["take.glb", "take.gltf"])
def test_missing_folder_and_unwritable_paths(tmp_path, face_model, take, name):
    with pytest.raises(ExportError, match=r"^cannot write .*: folder .*missing does not exist$"):
        exporter_for(tmp_path / "missing" / name).export(take, fps=FPS, face_model=face_model)
    with pytest.raises(ExportError, match=r"^cannot write /proc/.*: "):
        exporter_for(f"/proc/facefromx-test/{name}").export(take, fps=FPS, face_model=face_model)
    (tmp_path / name).mkdir()  # (exporter_for would take an existing folder for an OBJ sequence)
    with pytest.raises(ExportError, match=r"^cannot write .*: it is a folder$"):
        GltfExporter(tmp_path / name).export(take, fps=FPS, face_model=face_model)


def test_permission_denied(tmp_path, face_model, take, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(target.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError, match=r"^cannot write .*take\.glb: Permission denied$"):
        exporter_for(tmp_path / "take.glb").export(take, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["_os_write", "_os_fsync"])
def test_disk_full_leaves_no_file(tmp_path, face_model, take, monkeypatch, where):
    def no_space(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(target, where, no_space)
    with pytest.raises(ExportError, match=r"^disk full while writing .*take\.glb$"):
        exporter_for(tmp_path / "take.glb").export(take, fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []


def test_face_without_a_pose_names_the_frame(tmp_path, face_model, take):
    bad = dataclasses.replace(take[3], rotation=None)
    with pytest.raises(ExportError, match="^frame 3: a face without a pose"):
        exporter_for(tmp_path / "take.glb").export([*take[:3], bad], fps=FPS, face_model=face_model)
    assert os.listdir(tmp_path) == []
