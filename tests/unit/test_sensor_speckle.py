"""The simulated speckle capture: pattern, IR rendering geometry, and depth recovery accuracy.

Measured with the default :class:`SpeckleConfig` at 640x480 (60 degree FOV, fx = 554 px,
b = 4 cm): median absolute depth error 0.37 mm on a plane at 0.4 m and 0.44 mm on a sphere at
0.36-0.45 m, with 97-98 % of the object's pixels matched. The thresholds below leave about
2x headroom.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from models.camera import Intrinsics
from models.sensor import (
    SpeckleConfig,
    SpeckleSimulator,
    make_dot_pattern,
    plane_depth,
    sphere_depth,
    tilted_plane_depth,
)

INTRINSICS = Intrinsics.from_fov(640, 480, 60.0)


@pytest.fixture(scope="module")
def simulator() -> SpeckleSimulator:
    return SpeckleSimulator(INTRINSICS)


def _accuracy(recovered: np.ndarray, truth: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    """(coverage of ``region``, median absolute error in metres over its matched pixels)."""
    matched = region & (recovered > 0)
    return float(matched.sum() / region.sum()), float(np.median(np.abs(recovered[matched] - truth[matched])))


def test_defaults_are_pinned() -> None:
    config = SpeckleConfig()
    assert (config.baseline_m, config.min_disparity, config.num_disparities, config.block_size) == (0.04, 8, 96, 11)
    assert (config.dot_density, config.dot_sigma_px, config.pattern_seed) == (0.12, 0.8, 0)
    assert config.background_depth_m is None


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        SpeckleConfig(num_disparities=50)
    with pytest.raises(ValueError, match="odd"):
        SpeckleConfig(block_size=10)


def test_dot_pattern_is_deterministic_and_dotted() -> None:
    first = make_dot_pattern(120, 160, 0.1, 0.8, np.random.default_rng(3))
    again = make_dot_pattern(120, 160, 0.1, 0.8, np.random.default_rng(3))
    other = make_dot_pattern(120, 160, 0.1, 0.8, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.min() >= 0 and first.max() <= 1
    # Bright dots on a dark ground, roughly as many local maxima as dots.
    assert np.mean(first < 0.05) > 0.2 and np.mean(first > 0.5) > 0.05
    peaks = (first == cv2.dilate(first, np.ones((3, 3), np.uint8))) & (first > 0.3)
    assert 0.3 * 0.1 * first.size < peaks.sum() < 1.2 * 0.1 * first.size


def test_depth_range_matches_the_disparity_search(simulator: SpeckleSimulator) -> None:
    near, far = simulator.depth_range
    fb = INTRINSICS.fx * simulator.config.baseline_m
    assert near == pytest.approx(fb / 103) and far == pytest.approx(fb / 8)
    assert near < 0.25 and far > 2.0


def test_ir_image_is_the_pattern_shifted_by_the_disparity(simulator: SpeckleSimulator) -> None:
    """Rectified geometry: a plane at z shows the pattern shifted right by f b / z pixels."""
    fb = INTRINSICS.fx * simulator.config.baseline_m
    disparity = 40
    ir = simulator.ir_image(plane_depth(INTRINSICS, fb / disparity), np.random.default_rng(0))
    reference = simulator.reference_pattern.astype(np.float64)
    pad = reference.shape[1] - INTRINSICS.width
    window = ir[100:380, 100:540].astype(np.float64)

    def correlation(shift: int) -> float:
        ref = reference[100:380, 100 + pad - shift:540 + pad - shift]
        return float(np.corrcoef(window.ravel(), ref.ravel())[0, 1])

    assert correlation(disparity) > 0.9
    assert correlation(disparity - 2) < 0.3 and correlation(disparity + 2) < 0.3
    assert correlation(-disparity) < 0.3  # the projector is on +x, not -x


def test_ir_image_has_visible_dots_and_ambient_only_where_nothing_returns(simulator: SpeckleSimulator) -> None:
    depth = sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09)
    ir = simulator.ir_image(depth, np.random.default_rng(1))
    assert ir.dtype == np.uint8 and ir.shape == depth.shape
    core = cv2.erode((depth > 0).astype(np.uint8), np.ones((61, 61), np.uint8)).astype(bool)
    lo, hi = np.percentile(ir[core], [5, 95])
    assert hi - lo > 100  # dots against dark gaps
    empty = depth == 0
    config = simulator.config
    assert abs(float(ir[empty].mean()) - config.ambient) < 1.0
    assert np.percentile(ir[empty], 99.9) < config.ambient + 6 * config.read_noise + 6


def test_foreground_casts_a_shadow_on_the_projector_far_side(simulator: SpeckleSimulator) -> None:
    """Projector at +x: the wall left of the sphere is dark for about (d_fg - d_bg) pixels."""
    depth = sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09, background=1.2)
    ir = simulator.ir_image(depth, np.random.default_rng(2))
    row = int(round(INTRINSICS.cy))
    sphere_cols = np.nonzero(depth[row] < 1.0)[0]
    left, right = sphere_cols.min(), sphere_cols.max()
    fb = INTRINSICS.fx * simulator.config.baseline_m
    shadow = int(fb / 0.36 - fb / 1.2) - 2  # ~ 41 px at the sphere's front
    rows = slice(row - 3, row + 4)
    left_band = ir[rows, left - shadow:left - 2]
    right_band = ir[rows, right + 3:right + shadow]
    assert left_band.mean() < simulator.config.ambient + 3
    assert right_band.mean() > simulator.config.ambient + 6  # the lit wall at 1.2 m is dim: ~+9


@pytest.mark.parametrize("z", [0.4, 0.6])
def test_plane_is_recovered_accurately(simulator: SpeckleSimulator, z: float) -> None:
    depth = plane_depth(INTRINSICS, z)
    recovered = simulator.capture(depth, np.random.default_rng(3))
    coverage, median_error = _accuracy(recovered, depth, depth > 0)
    assert coverage > 0.9
    # Disparity error ~0.05-0.08 px -> z^2 / (f b) * 0.08: 0.6 mm at 0.4 m, 1.3 mm at 0.6 m.
    assert median_error < {0.4: 0.001, 0.6: 0.002}[z]


def test_tilted_plane_is_recovered(simulator: SpeckleSimulator) -> None:
    depth = tilted_plane_depth(INTRINSICS, 0.5, np.radians(45))
    recovered = simulator.capture(depth, np.random.default_rng(4))
    coverage, median_error = _accuracy(recovered, depth, (depth > 0) & (depth < 1.0))
    assert coverage > 0.85
    assert median_error < 0.0015


@pytest.mark.parametrize("background", [0.0, 1.2])
def test_sphere_is_recovered_accurately(simulator: SpeckleSimulator, background: float) -> None:
    depth = sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09, background=background)
    sphere = (depth > 0) & (depth < 1.0)
    recovered = simulator.capture(depth, np.random.default_rng(5))
    coverage, median_error = _accuracy(recovered, depth, sphere)
    assert coverage > 0.9
    assert median_error < 0.001
    assert np.all(np.isfinite(recovered)) and np.all(recovered >= 0)
    if background == 0.0:
        # Nothing returns outside the sphere: only edge fattening may match there.
        near_sphere = cv2.dilate(sphere.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        assert not np.any(recovered[~near_sphere])


def test_nothing_in_nothing_out(simulator: SpeckleSimulator) -> None:
    depth = np.zeros((INTRINSICS.height, INTRINSICS.width), np.float32)
    depth[:50] = np.nan
    assert not np.any(simulator.capture(depth, np.random.default_rng(6)))


def test_background_wall_option() -> None:
    config = dataclasses.replace(SpeckleConfig(), background_depth_m=1.0)
    simulator = SpeckleSimulator(INTRINSICS, config)
    recovered = simulator.capture(np.zeros((INTRINSICS.height, INTRINSICS.width)), np.random.default_rng(7))
    matched = recovered > 0
    assert matched.mean() > 0.9
    assert np.median(np.abs(recovered[matched] - 1.0)) < 0.005


def test_same_seed_same_capture_other_seed_differs(simulator: SpeckleSimulator) -> None:
    depth = sphere_depth(INTRINSICS, (0.01, 0.0, 0.45), 0.09, background=1.2)
    first = simulator.capture(depth, np.random.default_rng(8))
    again = simulator.capture(depth, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(simulator.ir_image(depth, np.random.default_rng(8)),
                              simulator.ir_image(depth, np.random.default_rng(9)))
    # The projector's pattern is fixed by the config, not by the per-capture generator.
    np.testing.assert_array_equal(SpeckleSimulator(INTRINSICS).reference_pattern, simulator.reference_pattern)


def test_shape_is_checked(simulator: SpeckleSimulator) -> None:
    with pytest.raises(ValueError, match="grid"):
        simulator.capture(np.zeros((10, 10), np.float32), np.random.default_rng(0))


_SMALL = Intrinsics.from_fov(48, 32, 60.0)


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(np.float32, (_SMALL.height, _SMALL.width), elements=st.one_of(
        st.floats(-1.0, 3.0, width=32), st.sampled_from([0.0, np.nan, np.inf, -np.inf]))),
    st.integers(0, 2**32 - 1),
)
def test_capture_invariants_for_any_depth_map(depth: np.ndarray, seed: int) -> None:
    simulator = SpeckleSimulator(_SMALL)
    ir = simulator.ir_image(depth, np.random.default_rng(seed))
    assert ir.dtype == np.uint8 and ir.shape == depth.shape
    out = simulator.capture(depth, np.random.default_rng(seed))
    assert out.dtype == np.float32 and out.shape == depth.shape
    assert np.all(np.isfinite(out)) and not np.any(np.signbit(out))
    near, far = simulator.depth_range
    assert np.all((out == 0) | ((out >= near * 0.99) & (out <= far * 1.01)))
