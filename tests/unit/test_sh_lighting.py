"""Spherical-harmonics lighting: the basis against closed forms and numeric integration."""

from __future__ import annotations

import numpy as np
import pytest

from models.render.sh_lighting import (
    SH_CONSTANTS,
    ambient_sh,
    directional_sh,
    random_sh,
    sh_basis,
    shade,
)


def sphere_quadrature(n_polar: int = 12, n_azimuth: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions (M, 3) and weights (M,) integrating polynomials of low degree exactly
    over the sphere (Gauss-Legendre in cos(theta) times a uniform rule in phi)."""
    mu, w_mu = np.polynomial.legendre.leggauss(n_polar)
    phi = np.arange(n_azimuth) * 2 * np.pi / n_azimuth
    mu_grid, phi_grid = np.meshgrid(mu, phi, indexing="ij")
    s = np.sqrt(1 - mu_grid**2)
    directions = np.stack([s * np.cos(phi_grid), s * np.sin(phi_grid), mu_grid], axis=-1).reshape(-1, 3)
    weights = (w_mu[:, None] * np.full(n_azimuth, 2 * np.pi / n_azimuth)[None, :]).reshape(-1)
    return directions, weights


def random_unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_quadrature_integrates_the_sphere_area() -> None:
    _, weights = sphere_quadrature()
    assert weights.sum() == pytest.approx(4 * np.pi)


def test_basis_is_orthonormal_over_the_sphere() -> None:
    directions, weights = sphere_quadrature()
    basis = sh_basis(directions).astype(np.float64)
    gram = basis.T @ (basis * weights[:, None])
    np.testing.assert_allclose(gram, np.eye(9), atol=1e-5)


def test_basis_matches_closed_forms() -> None:
    c00 = 1 / (2 * np.sqrt(np.pi))
    c1 = np.sqrt(3 / (4 * np.pi))
    c20 = np.sqrt(5 / (16 * np.pi))
    c22 = np.sqrt(15 / (16 * np.pi))
    c2 = np.sqrt(15 / (4 * np.pi))
    up = sh_basis(np.array([[0.0, 0.0, 1.0]]))[0]
    np.testing.assert_allclose(up, [c00, 0, c1, 0, 0, 0, 2 * c20, 0, 0], rtol=1e-6, atol=1e-7)
    x = sh_basis(np.array([[1.0, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(x, [c00, 0, 0, c1, 0, 0, -c20, 0, c22], rtol=1e-6, atol=1e-7)
    d = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    diagonal = sh_basis(d[None])[0]
    np.testing.assert_allclose(
        diagonal, [c00, c1 * d[1], c1 * d[2], c1 * d[0], c2 / 3, c2 / 3, 0.0, c2 / 3, 0.0], rtol=1e-5, atol=1e-6
    )
    assert SH_CONSTANTS[0] == pytest.approx(0.2820948, abs=1e-7)
    assert len(SH_CONSTANTS) == 9


def test_basis_shape_and_dtype() -> None:
    out = sh_basis(np.zeros((5, 3), dtype=np.float64))
    assert out.shape == (5, 9) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        sh_basis(np.zeros((5, 2)))


def test_ambient_sh_gives_albedo_times_level() -> None:
    rng = np.random.default_rng(0)
    albedo = rng.uniform(0, 1, (100, 3)).astype(np.float32)
    normals = random_unit_vectors(rng, 100)
    np.testing.assert_allclose(shade(albedo, normals, ambient_sh(0.7)), albedo * 0.7, rtol=1e-5, atol=1e-6)
    tint = np.array([0.9, 0.5, 0.2])
    np.testing.assert_allclose(shade(albedo, normals, ambient_sh(tint)), albedo * tint, rtol=1e-5, atol=1e-6)


def test_shade_is_albedo_times_basis_dot_coefficients() -> None:
    rng = np.random.default_rng(1)
    albedo = rng.uniform(0, 1, (50, 3))
    normals = random_unit_vectors(rng, 50)
    sh = rng.standard_normal((9, 3))
    expected = albedo * (sh_basis(normals).astype(np.float64) @ sh)
    np.testing.assert_allclose(shade(albedo, normals, sh), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(9, 3\)"):
        shade(albedo, normals, sh[:4])


def test_directional_sh_approximates_the_clamped_cosine() -> None:
    rng = np.random.default_rng(2)
    direction = random_unit_vectors(rng, 1)[0]
    normals = random_unit_vectors(rng, 2000)
    radiance = shade(np.ones((2000, 3)), normals, directional_sh(direction, 1.0))[:, 0]
    lambert = np.maximum(normals @ direction, 0.0)
    # The 3-band clamped cosine is 0.09375 + 0.5 c + 0.46875 c^2: off by < 0.1 everywhere.
    assert np.abs(radiance - lambert).max() < 0.1
    facing = shade(np.ones((1, 3)), direction[None], directional_sh(direction, 2.0))[0, 0]
    assert facing == pytest.approx(2 * 1.0625, rel=1e-5)


def test_random_sh_lights_a_face_from_the_front() -> None:
    rng = np.random.default_rng(3)
    toward_camera = np.array([[0.0, 0.0, -1.0]])
    away = np.array([[0.0, 0.0, 1.0]])
    hemisphere = random_unit_vectors(rng, 500)
    hemisphere[:, 2] = -np.abs(hemisphere[:, 2])
    for _ in range(50):
        sh = random_sh(rng)
        assert sh.shape == (9, 3) and sh.dtype == np.float32
        front = shade(np.ones((1, 3)), toward_camera, sh)[0]
        back = shade(np.ones((1, 3)), away, sh)[0]
        assert np.all(front > back)
        assert np.all((front > 0.25) & (front < 2.0))
        lit = shade(np.ones((500, 3)), hemisphere, sh)
        assert lit.min() > 0.1  # the ambient keeps every camera-facing surface visible
        assert np.ptp(sh[0]) / sh[0].mean() < 0.3  # a mild tint, not a coloured light


def test_random_sh_is_deterministic_and_varied() -> None:
    a = random_sh(np.random.default_rng(7))
    b = random_sh(np.random.default_rng(7))
    c = random_sh(np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.05
