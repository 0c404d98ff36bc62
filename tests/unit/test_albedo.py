"""The procedural albedo model: ranges, regions and variety."""

from __future__ import annotations

import numpy as np
import pytest

from models.face_model import REGION_SIZES, FaceModel
from models.render import ALBEDO_COMPONENTS, AlbedoModel
from models.render.albedo import skin_luminance_ratio

REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def nearest_vertex(face_model: FaceModel, point: np.ndarray) -> int:
    head = face_model.template[: REGION_SIZES["head"]]
    return int(np.argmin(np.linalg.norm(head - point, axis=1)))


@pytest.fixture(scope="module")
def albedo_model(face_model: FaceModel) -> AlbedoModel:
    return AlbedoModel.from_face_model(face_model)


@pytest.fixture(scope="module")
def probes(face_model: FaceModel) -> dict[str, np.ndarray]:
    """Vertex ids of a few places, found from the landmarks independently of the model."""
    lm_ids = face_model.landmark_indices
    lm = face_model.template[lm_ids]
    cheeks = [nearest_vertex(face_model, 0.5 * (lm[a] + lm[b])) for a, b in ((2, 31), (14, 35))]
    up = np.array([0.0, 0.022, 0.0])
    forehead = [nearest_vertex(face_model, lm[i] + up) for i in (19, 24)]
    return {
        # Mid-lip landmarks (the corners 48 and 54 sit on the soft border).
        "lips": lm_ids[[50, 51, 52, 56, 57, 58, 61, 62, 63, 65, 66, 67]],
        "cheeks": np.array(cheeks),
        "brows": lm_ids[[18, 19, 20, 23, 24, 25]],
        "forehead": np.array(forehead),
    }


def red_chromaticity(colors: np.ndarray) -> np.ndarray:
    return colors[..., 0] / np.maximum(colors.sum(axis=-1), 1e-6)


def luminance(colors: np.ndarray) -> np.ndarray:
    return colors @ REC709


def test_shapes_and_ranges(albedo_model: AlbedoModel) -> None:
    n = REGION_SIZES["head"]
    assert albedo_model.mean.shape == (n, 3) and albedo_model.mean.dtype == np.float32
    assert albedo_model.basis.shape == (len(ALBEDO_COMPONENTS), n, 3)
    assert albedo_model.basis.dtype == np.float32
    assert albedo_model.num_components == 10
    assert albedo_model.mean.min() >= 0 and albedo_model.mean.max() <= 1
    assert np.all(np.isfinite(albedo_model.basis))


def test_sampled_colours_stay_in_range_without_much_clipping(albedo_model: AlbedoModel) -> None:
    rng = np.random.default_rng(0)
    clipped = 0
    for _ in range(100):
        coeffs = albedo_model.sample(rng)
        assert coeffs.shape == (10,) and coeffs.dtype == np.float32
        colors = albedo_model.colors(coeffs)
        assert colors.dtype == np.float32 and colors.shape == albedo_model.mean.shape
        assert colors.min() >= 0.0 and colors.max() <= 1.0
        raw = albedo_model.mean + np.tensordot(coeffs, albedo_model.basis, axes=1)
        clipped += np.count_nonzero((raw < 0) | (raw > 1))
    # Sampled faces are plausible colours in the first place, not saved by the clip.
    assert clipped / (100 * albedo_model.mean.size) < 0.005


def test_raw_normal_coefficients_also_give_valid_colours(albedo_model: AlbedoModel) -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        colors = albedo_model.colors(rng.standard_normal(10))
        assert colors.min() >= 0.0 and colors.max() <= 1.0


def test_lips_are_redder_than_cheeks(albedo_model: AlbedoModel, probes: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(2)
    samples = [albedo_model.sample(rng) for _ in range(300)]
    # The darkest tail (lightness < -2) is left out: there skin's blue clips to 0 and any
    # chromaticity measure calls the skin red.
    samples = [c for c in samples if c[0] >= -2.0]
    assert len(samples) > 250
    for coeffs in [np.zeros(10), *samples]:
        colors = albedo_model.colors(coeffs)
        lips = red_chromaticity(colors[probes["lips"]]).mean()
        cheeks = red_chromaticity(colors[probes["cheeks"]]).mean()
        assert lips > cheeks + 0.01


def test_brows_are_darker_than_the_forehead(albedo_model: AlbedoModel, probes: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    for coeffs in [np.zeros(10)] + [albedo_model.sample(rng) for _ in range(50)]:
        colors = albedo_model.colors(coeffs)
        assert luminance(colors[probes["brows"]]).mean() < 0.7 * luminance(colors[probes["forehead"]]).mean()


def test_lightness_spans_dark_to_fair_skin(albedo_model: AlbedoModel, probes: dict[str, np.ndarray]) -> None:
    dark, fair = np.zeros(10), np.zeros(10)
    dark[0], fair[0] = -2.5, 2.5
    forehead_dark = albedo_model.colors(dark)[probes["forehead"]].mean(axis=0)
    forehead_fair = albedo_model.colors(fair)[probes["forehead"]].mean(axis=0)
    assert luminance(forehead_fair) > 8 * luminance(forehead_dark)
    assert luminance(forehead_dark) > 0.02  # deep brown, not black
    for skin in (forehead_dark, forehead_fair):
        assert skin[0] > skin[1] > skin[2]  # skin is red > green > blue at every tone


def test_samples_differ_and_are_reproducible(albedo_model: AlbedoModel) -> None:
    a = albedo_model.sample(np.random.default_rng(4))
    b = albedo_model.sample(np.random.default_rng(4))
    c = albedo_model.sample(np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert np.abs(albedo_model.colors(a) - albedo_model.colors(c)).mean() > 0.01


def test_darker_skin_gets_smaller_local_variation() -> None:
    assert skin_luminance_ratio(0.0) == pytest.approx(1.0)
    assert skin_luminance_ratio(2.0) == pytest.approx(1.0)
    assert 0.15 <= skin_luminance_ratio(-2.5) < 0.3


def test_model_is_deterministic_and_checks_coefficients(face_model: FaceModel, albedo_model: AlbedoModel) -> None:
    again = AlbedoModel.from_face_model(face_model)
    np.testing.assert_array_equal(again.mean, albedo_model.mean)
    np.testing.assert_array_equal(again.basis, albedo_model.basis)
    np.testing.assert_allclose(albedo_model.colors(np.zeros(3)), albedo_model.colors(np.zeros(10)))
    with pytest.raises(ValueError, match="11 coefficients"):
        albedo_model.colors(np.zeros(11))
