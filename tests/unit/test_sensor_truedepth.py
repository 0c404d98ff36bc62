"""The TrueDepth-class noise model: noise levels, quantisation, dropout, flying pixels, invariants."""

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
    TrueDepthNoiseConfig,
    plane_depth,
    simulate_truedepth,
    sphere_depth,
    tilted_plane_depth,
)

INTRINSICS = Intrinsics.from_fov(640, 480, 60.0)
CENTRE = (slice(190, 290), slice(270, 370))  # 100 x 100 pixels around the principal point
QUIET = TrueDepthNoiseConfig(  # every random dropout off: only what a test switches on
    edge_dropout_prob=0.0, flying_pixel_prob=0.0, grazing_dropout_prob=0.0,
    random_dropout_prob=0.0, blob_rate=0.0,
)


def _run(depth: np.ndarray, seed: int = 0, config: TrueDepthNoiseConfig | None = None) -> np.ndarray:
    return simulate_truedepth(depth, INTRINSICS, np.random.default_rng(seed), config or TrueDepthNoiseConfig())


def _expected_std(config: TrueDepthNoiseConfig, z: float) -> float:
    """Gaussian noise plus uniform quantisation error on a surface facing the camera."""
    return float(np.hypot(config.axial_sigma_at(z), config.depth_step_m(z) / np.sqrt(12)))


def test_defaults_are_pinned() -> None:
    config = TrueDepthNoiseConfig()
    assert config.axial_sigma_m == 0.0007 and config.reference_depth_m == 0.4
    assert (config.baseline_m, config.focal_px, config.disparity_step_px) == (0.03, 600.0, 0.125)
    assert (config.min_range_m, config.max_range_m) == (0.15, 1.5)
    assert (config.grazing_start_deg, config.grazing_full_deg) == (65.0, 82.0)
    assert config.edge_band_px == 2.0 and config.normals_stride == 2
    # The figures the docstrings quote.
    assert config.depth_step_m(0.3) == pytest.approx(0.000625)
    assert config.depth_step_m(0.4) == pytest.approx(0.00111, rel=1e-2)
    assert config.axial_sigma_at(0.3) == pytest.approx(0.00039375)


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_range_m"):
        TrueDepthNoiseConfig(min_range_m=2.0, max_range_m=1.0)
    with pytest.raises(ValueError, match="probability"):
        TrueDepthNoiseConfig(edge_dropout_prob=1.5)


@pytest.mark.parametrize("z", [0.3, 0.45, 0.6])
def test_noise_std_matches_the_documented_model(z: float) -> None:
    config = TrueDepthNoiseConfig()
    out = _run(plane_depth(INTRINSICS, z))[CENTRE]
    truth = plane_depth(INTRINSICS, z)[CENTRE]
    ok = out > 0
    assert ok.mean() > 0.95
    err = out[ok] - truth[ok]
    expected = _expected_std(config, z)
    assert np.std(err) == pytest.approx(expected, rel=0.15)
    assert abs(np.mean(err)) < 0.3 * expected


def test_noise_grows_with_depth_within_the_documented_band() -> None:
    stds = {}
    for z in (0.3, 0.6):
        truth = plane_depth(INTRINSICS, z)[CENTRE]
        out = _run(plane_depth(INTRINSICS, z), seed=3)[CENTRE]
        ok = out > 0
        stds[z] = float(np.std(out[ok] - truth[ok]))
    assert stds[0.3] < stds[0.6]
    assert 0.0003 < stds[0.3] < 0.0006  # ~0.43 mm: 0.39 mm noise + 0.63 mm steps
    assert 0.0013 < stds[0.6] < 0.0022  # ~1.73 mm: 1.58 mm noise + 2.5 mm steps


def test_quantisation_step_grows_with_depth() -> None:
    config = dataclasses.replace(QUIET, axial_sigma_m=0.0)
    out = _run(tilted_plane_depth(INTRINSICS, 0.45, np.radians(60)), config=config)
    levels = np.unique(out[out > 0]).astype(np.float64)
    steps = np.diff(levels)
    for z in (0.3, 0.6):
        near = np.abs(levels[:-1] - z) < 0.01
        assert near.sum() >= 3
        measured = float(np.median(steps[near]))
        assert measured == pytest.approx(config.depth_step_m(z), rel=0.05)
    assert np.median(steps[np.abs(levels[:-1] - 0.6) < 0.01]) > 3 * np.median(steps[np.abs(levels[:-1] - 0.3) < 0.01])


def test_noisy_depth_lies_on_the_disparity_grid() -> None:
    config = TrueDepthNoiseConfig()
    out = _run(sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09, background=1.2))
    z = out[out > 0].astype(np.float64)
    steps = config.focal_px * config.baseline_m / config.disparity_step_px / z
    assert np.max(np.abs(steps - np.round(steps))) < 1e-2


def test_dropout_concentrates_at_depth_discontinuities() -> None:
    depth = sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09, background=1.2)
    out = _run(depth, seed=1)
    sphere = (depth < 1.0).astype(np.uint8)
    near_sphere = cv2.dilate(sphere, np.ones((5, 5), np.uint8)).astype(bool)
    wall_band = near_sphere & (sphere == 0)  # wall pixels within 2 px of the silhouette
    far_from_sphere = ~cv2.dilate(sphere, np.ones((61, 61), np.uint8)).astype(bool)
    wall_interior = far_from_sphere & (depth > 1.0)
    band_loss = float(np.mean(out[wall_band] == 0))
    interior_loss = float(np.mean(out[wall_interior] == 0))
    assert band_loss > 0.5
    assert interior_loss < 0.02
    assert band_loss > 20 * interior_loss


def test_dropout_concentrates_at_silhouettes_and_grazing_rims() -> None:
    depth = sphere_depth(INTRINSICS, (0.0, 0.0, 0.45), 0.09)
    out = _run(depth, seed=2)
    sphere = (depth > 0).astype(np.uint8)
    rim = sphere.astype(bool) & ~cv2.erode(sphere, np.ones((5, 5), np.uint8)).astype(bool)
    core = cv2.erode(sphere, np.ones((81, 81), np.uint8)).astype(bool)  # facing the camera
    assert rim.sum() > 500 and core.sum() > 5000
    rim_loss = float(np.mean(out[rim] == 0))
    core_loss = float(np.mean(out[core] == 0))
    assert rim_loss > 0.6
    assert core_loss < 0.02
    assert np.all(out[depth == 0] == 0)


def test_dropout_follows_the_grazing_angle() -> None:
    losses = {}
    for degrees in (20, 60, 72, 80):
        out = _run(tilted_plane_depth(INTRINSICS, 0.5, np.radians(degrees)), seed=4)
        losses[degrees] = float(np.mean(out[CENTRE] == 0))
    assert losses[20] < 0.02 and losses[60] < 0.02
    assert 0.15 < losses[72] < 0.7
    assert losses[80] > 0.6


def test_flying_pixels_sit_between_foreground_and_background_at_edges_only() -> None:
    depth = np.full((INTRINSICS.height, INTRINSICS.width), 0.6, np.float32)
    depth[:, :320] = 0.4
    out = _run(depth, seed=5, config=dataclasses.replace(TrueDepthNoiseConfig(), flying_pixel_prob=0.5))
    flying = (out > 0.42) & (out < 0.58)
    columns = np.nonzero(flying)[1]
    assert flying.sum() > 20
    assert np.all(np.abs(columns - 319.5) <= 1.5)
    no_flying = _run(depth, seed=5, config=dataclasses.replace(TrueDepthNoiseConfig(), flying_pixel_prob=0.0))
    assert not np.any((no_flying > 0.42) & (no_flying < 0.58))


def test_blobs_remove_connected_patches() -> None:
    config = dataclasses.replace(QUIET, blob_rate=10.0, blob_radius_px=(5.0, 8.0))
    out = _run(plane_depth(INTRINSICS, 0.5), seed=6, config=config)
    holes = (out == 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(holes)
    areas = stats[1:, cv2.CC_STAT_AREA]
    assert count - 1 >= 3
    assert areas.min() >= 40  # an ellipse with semi-axes >= 5 px covers ~78 px


def test_range_limits() -> None:
    config = TrueDepthNoiseConfig()
    assert not np.any(_run(plane_depth(INTRINSICS, 1.8)))
    assert not np.any(_run(plane_depth(INTRINSICS, 0.1)))
    out = _run(plane_depth(INTRINSICS, 1.0))
    assert np.all((out == 0) | ((out >= config.min_range_m) & (out <= config.max_range_m)))


def test_bad_values_and_invalid_pixels_stay_invalid() -> None:
    depth = plane_depth(INTRINSICS, 0.5).astype(np.float64)
    depth[::37, ::41] = np.nan
    depth[3::31, ::29] = np.inf
    depth[5::23, 1::43] = -0.3
    depth[100:200, 100:200] = 0.0
    out = _run(depth)
    assert out.dtype == np.float32 and out.shape == depth.shape
    assert np.all(np.isfinite(out)) and np.all(out >= 0) and not np.any(np.signbit(out))
    bad = ~(np.isfinite(depth) & (depth > 0))
    assert np.all(out[bad] == 0)
    assert (out > 0).mean() > 0.5


def test_same_seed_same_output_other_seed_differs() -> None:
    depth = sphere_depth(INTRINSICS, (0.02, -0.01, 0.45), 0.09, background=1.2)
    first, again, other = _run(depth, seed=11), _run(depth, seed=11), _run(depth, seed=12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.mean(first != other) > 0.3  # the noise, not just a few dropouts


def test_input_is_not_modified_and_shape_is_checked() -> None:
    depth = plane_depth(INTRINSICS, 0.5)
    before = depth.copy()
    _run(depth)
    np.testing.assert_array_equal(depth, before)
    with pytest.raises(ValueError, match="intrinsics"):
        simulate_truedepth(depth[:, :100], INTRINSICS, np.random.default_rng(0))


_CONFIGS = [
    TrueDepthNoiseConfig(),
    TrueDepthNoiseConfig(normals_stride=1, edge_band_px=0.0),
    TrueDepthNoiseConfig(axial_sigma_m=0.05, max_grazing_noise_factor=20.0, blob_rate=5.0,
                         edge_band_px=6.0, flying_pixel_prob=1.0, normals_stride=3),
    TrueDepthNoiseConfig(disparity_step_px=0.0, axial_sigma_m=0.0),
]


@st.composite
def _depth_and_camera(draw: st.DrawFn) -> tuple[np.ndarray, Intrinsics]:
    height = draw(st.integers(1, 40))
    width = draw(st.integers(1, 40))
    values = st.one_of(
        st.floats(-1.0, 3.0, width=32),
        st.sampled_from([0.0, np.nan, np.inf, -np.inf, 0.15, 1.5]),
    )
    depth = draw(hnp.arrays(np.float32, (height, width), elements=values))
    fx = draw(st.floats(5.0, 2000.0))
    fy = draw(st.floats(5.0, 2000.0))
    cx = draw(st.floats(-10.0, width + 10.0))
    cy = draw(st.floats(-10.0, height + 10.0))
    return depth, Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=width, height=height)


@settings(max_examples=150, deadline=None)
@given(_depth_and_camera(), st.integers(0, 2**32 - 1), st.sampled_from(_CONFIGS))
def test_invariants_hold_for_any_depth_map(
    scene: tuple[np.ndarray, Intrinsics], seed: int, config: TrueDepthNoiseConfig
) -> None:
    depth, intrinsics = scene
    out = simulate_truedepth(depth, intrinsics, np.random.default_rng(seed), config)
    assert out.dtype == np.float32 and out.shape == depth.shape
    assert np.all(np.isfinite(out))
    assert not np.any(np.signbit(out))
    with np.errstate(invalid="ignore"):
        valid_in = np.isfinite(depth) & (depth > 0)
    assert np.all(out[~valid_in] == 0)
    assert np.all((out == 0) | ((out >= config.min_range_m) & (out <= config.max_range_m)))
    again = simulate_truedepth(depth, intrinsics, np.random.default_rng(seed), config)
    np.testing.assert_array_equal(out, again)
