"""The embedded synthetic source: deterministic frames whose pixels agree with their ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from capture.base import CaptureError, Mode
from capture.registry import open_source
from capture.synthetic import SyntheticSource

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def clean_source():
    with SyntheticSource(seed=7, noise=False) as source:
        yield source


def test_frames_carry_rgb_depth_intrinsics_and_ground_truth(clean_source: SyntheticSource) -> None:
    frame = clean_source.frame_at(12)
    assert frame.rgb.shape == (480, 640, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (480, 640) and frame.depth.dtype == np.float32
    assert frame.timestamp == pytest.approx(12 / 30)
    truth = frame.ground_truth
    assert truth.vertices.shape == (9409, 3) and truth.landmarks_2d.shape == (68, 2)
    assert truth.identity.shape == (100,) and truth.expression.shape == (53,)
    assert clean_source.modes == frozenset(Mode) and clean_source.default_mode is Mode.RGBD


def test_rendered_depth_agrees_with_the_ground_truth_mesh(clean_source: SyntheticSource, face_model) -> None:
    for index in (0, 90, 250):
        frame = clean_source.frame_at(index)
        truth = frame.ground_truth
        landmarks_3d = truth.vertices[face_model.landmark_indices]
        # Nose tip (30) and the nose bridge (27, 28) face the camera in every pose of the sequence.
        for k in (27, 28, 30):
            u, v = np.rint(truth.landmarks_2d[k]).astype(int)
            assert frame.depth[v, u] == pytest.approx(landmarks_3d[k, 2], abs=0.003)


def test_head_and_shoulders_against_a_backdrop(clean_source: SyntheticSource) -> None:
    frame = clean_source.frame_at(30)
    u = np.rint(frame.ground_truth.landmarks_2d[8, 0]).astype(int)  # below the chin
    bottom = frame.depth[-20:, max(u - 40, 0): u + 40]
    assert (bottom > 0).mean() > 0.9, "shoulders fill the bottom of the frame under the face"
    assert bottom[bottom > 0].max() < 1.0, "the shoulders are near the camera, not the wall"
    face_depth = frame.ground_truth.vertices[:, 2]
    assert 0.25 < face_depth.min() < 0.75


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    with SyntheticSource(seed=3) as a, SyntheticSource(seed=3) as b, SyntheticSource(seed=4) as c:
        fa, fb, fc = a.frame_at(5), b.frame_at(5), c.frame_at(5)
    np.testing.assert_array_equal(fa.rgb, fb.rgb)
    np.testing.assert_array_equal(fa.depth, fb.depth)
    assert not np.array_equal(fa.rgb, fc.rgb)


def test_sensor_noise_leaves_holes_but_no_nan() -> None:
    with SyntheticSource(seed=1) as noisy, SyntheticSource(seed=1, noise=False) as clean:
        d_noisy, d_clean = noisy.frame_at(3).depth, clean.frame_at(3).depth
    assert np.isfinite(d_noisy).all() and (d_noisy >= 0).all()
    both = (d_noisy > 0) & (d_clean > 0)
    difference = np.abs(d_noisy[both] - d_clean[both])
    assert 0.0002 < np.median(difference) < 0.005, "millimetre-level noise"
    assert ((d_clean > 0) & (d_noisy == 0)).sum() > 100, "dropouts at silhouettes"


def test_registry_options_and_errors() -> None:
    with open_source("synthetic:seed=2,frames=4,width=160,height=120") as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert frames[0].rgb.shape == (120, 160, 3)
    with pytest.raises(CaptureError, match="unknown synthetic option 'colour'"):
        open_source("synthetic:colour=red")
    with pytest.raises(CaptureError, match="malformed source option"):
        open_source("synthetic:seed")
