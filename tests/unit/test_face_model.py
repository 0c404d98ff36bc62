"""The converted ICT-FaceKit Light model: sizes, units, regions, landmarks, ARKit names, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.face_model import ARKIT_NAMES, REGION_SIZES, FaceModel
from models.face_model.cache import load_cached, save_cached
from models.face_model.obj_reader import read_obj


def test_sizes_and_units(face_model: FaceModel) -> None:
    assert face_model.template.shape == (26719, 3)
    assert face_model.identity_basis.shape == (100, 26719, 3)
    assert face_model.expression_basis.shape == (53, 26719, 3)
    face = face_model.vertices(region="face")
    width, height, _ = face.max(0) - face.min(0)
    assert 0.14 < width < 0.22 and 0.2 < height < 0.35, "metres, a human-sized face"
    # Identity modes are scaled by their standard deviation: millimetres, not metres or microns.
    rms = np.sqrt((face_model.identity_basis[:10, :6706] ** 2).sum(-1).mean())
    assert 0.0005 < rms < 0.02


def test_regions_are_nested_prefixes_with_closed_triangle_sets(face_model: FaceModel) -> None:
    previous = 0
    for name, size in REGION_SIZES.items():
        region = face_model.region(name)
        assert region.num_vertices == size
        assert region.triangles.max() < size
        assert len(region.triangles) >= previous
        previous = len(region.triangles)
    assert len(face_model.region("full").triangles) == 548 + 2 * 25836
    assert face_model.region("face").triangles.shape[1] == 3
    with pytest.raises(KeyError, match="unknown region"):
        face_model.region("torso")


def test_landmarks_are_on_the_narrow_face_and_mirror_symmetric(face_model: FaceModel) -> None:
    assert face_model.landmark_indices.shape == (68,)
    assert face_model.landmark_indices.max() < REGION_SIZES["narrow_face"]
    points = face_model.landmarks(face_model.template)
    # Multi-PIE: 0 and 16 are the two ends of the jaw line, mirror images of each other.
    np.testing.assert_allclose(points[0] * [-1, 1, 1], points[16], atol=1e-4)
    assert points[0, 0] < 0 < points[16, 0], "x points to the subject's left"
    assert points[30, 2] == points[:, 2].max(), "the nose tip (30) is the most forward landmark"


def test_expressions_have_arkit_names_and_move_the_right_parts(face_model: FaceModel) -> None:
    assert len(face_model.expression_names) == 53
    jaw = face_model.expression_names.index("jawOpen")
    motion = np.linalg.norm(face_model.expression_basis[jaw], axis=1)
    chin, forehead = face_model.landmark_indices[8], face_model.landmark_indices[27]
    assert motion[chin] > 0.01 and motion[forehead] < 0.001
    blink = face_model.expression_names.index("eyeBlink_L")
    moved = np.linalg.norm(face_model.expression_basis[blink], axis=1) > 0.002
    assert face_model.template[moved, 0].mean() > 0, "eyeBlink_L closes the subject's left eye"


def test_arkit_mapping(face_model: FaceModel) -> None:
    assert len(ARKIT_NAMES) == 52 and len(set(ARKIT_NAMES)) == 52
    weights = np.zeros(53, dtype=np.float32)
    names = face_model.expression_names
    weights[names.index("browInnerUp_L")] = 0.2
    weights[names.index("browInnerUp_R")] = 0.6
    weights[names.index("cheekPuff_L")] = 1.0
    weights[names.index("eyeBlink_R")] = 0.7
    arkit = face_model.to_arkit(weights)
    assert list(arkit) == list(ARKIT_NAMES)
    assert arkit["browInnerUp"] == pytest.approx(0.4)
    assert arkit["cheekPuff"] == pytest.approx(0.5)
    assert arkit["eyeBlinkRight"] == pytest.approx(0.7)
    assert arkit["tongueOut"] == 0.0
    assert sum(arkit.values()) == pytest.approx(0.4 + 0.5 + 0.7)


def test_vertices_are_linear_in_the_coefficients(face_model: FaceModel) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(100).astype(np.float32), rng.uniform(0, 1, 53).astype(np.float32)
    base = face_model.vertices(region="narrow_face")
    both = face_model.vertices(a, b, region="narrow_face")
    only_a = face_model.vertices(a, None, region="narrow_face")
    only_b = face_model.vertices(None, b, region="narrow_face")
    np.testing.assert_allclose(both - base, (only_a - base) + (only_b - base), atol=1e-6)
    np.testing.assert_allclose(face_model.vertices(a[:10], region="face"),
                               face_model.vertices(np.r_[a[:10], np.zeros(90)], region="face"), atol=1e-7)


def test_obj_reader_keeps_vertex_order_and_triangulates_quads(tmp_path: Path) -> None:
    path = tmp_path / "quad.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1 2/2 3/3 4/4\n")
    mesh = read_obj(path)
    assert mesh.positions.shape == (4, 3) and mesh.uvs.shape == (4, 2)
    np.testing.assert_array_equal(mesh.triangles, [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_array_equal(mesh.triangle_uvs, [[0, 1, 2], [0, 2, 3]])


def test_cache_is_rebuilt_when_the_source_digest_changes_or_it_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    arrays = {"template": np.ones((3, 3), np.float32)}
    save_cached(path, "v1-abc", arrays)
    assert load_cached(path, "v1-abc")["template"].sum() == 9
    assert load_cached(path, "v1-other") is None
    path.write_bytes(path.read_bytes()[:20])
    assert load_cached(path, "v1-abc") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"], "no temporary files left"
