"""Spherical-harmonics (SH) lighting with three bands, as in the paper's Eq. 4.

A Lambertian surface point with albedo ``b`` (linear RGB) and unit normal ``n`` has radiance::

    I(n, b | gamma) = b * (phi(n) . gamma)        per colour channel

where ``phi(n)`` is the 9 real SH basis functions of bands 0, 1 and 2 evaluated at ``n`` and
``gamma`` the 9 coefficients of that channel; the three channels give ``sh`` of shape (9, 3),
27 numbers in all.

Conventions (the training package re-implements :func:`shade` on tensors with these):

* ``phi_k(n) = SH_CONSTANTS[k] * P_k(n)`` with ``n = (x, y, z)`` a unit vector and the
  polynomials ``P_k`` (spelled out in :data:`SH_POLYNOMIALS`), in this order::

      k:  0   1   2   3   4    5    6          7    8
          1,  y,  z,  x,  xy,  yz,  3z^2 - 1,  xz,  x^2 - y^2

  i.e. the orthonormal real SH ``Y_lm`` ordered (l, m) = (0,0), (1,-1), (1,0), (1,1),
  (2,-2), (2,-1), (2,0), (2,1), (2,2): ``integral over the sphere of phi_i phi_j = delta_ij``.
* The coefficients describe the lighting *already convolved with the Lambertian cosine lobe*
  (shading per unit albedo), so :func:`shade` is one dot product: a uniform ambient light of
  level ``a`` is ``gamma = (a / SH_CONSTANTS[0], 0, ...)`` and gives ``I = a * b``; a distant
  light of intensity ``s`` from direction ``d`` (:func:`directional_sh`) gives about
  ``I = s * b * max(0, n . d)``.
* Normals, and therefore the lighting directions, are in the **camera frame** (OpenCV: x right,
  y down, z forward). A surface facing the camera has a normal near ``(0, 0, -1)``; a light
  "from above, in front of the face" has direction ``(0, -1, -1) / sqrt(2)``.
* :func:`shade` does not clamp; the renderer clamps its final colour to [0, 1].
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LAMBERT_BAND_FACTORS",
    "NUM_SH_COEFFS",
    "SH_CONSTANTS",
    "SH_POLYNOMIALS",
    "ambient_sh",
    "directional_sh",
    "random_sh",
    "sh_basis",
    "shade",
]

NUM_SH_COEFFS = 9

# Normalisation constants of the real orthonormal SH, one per basis function (see module doc).
_C00 = 0.5 * np.sqrt(1.0 / np.pi)  # 0.282095
_C1 = np.sqrt(3.0 / (4.0 * np.pi))  # 0.488603
_C2 = 0.5 * np.sqrt(15.0 / np.pi)  # 1.092548
_C20 = 0.25 * np.sqrt(5.0 / np.pi)  # 0.315392
_C22 = 0.25 * np.sqrt(15.0 / np.pi)  # 0.546274
SH_CONSTANTS: tuple[float, ...] = tuple(
    float(c) for c in (_C00, _C1, _C1, _C1, _C2, _C2, _C20, _C2, _C22)
)
# The polynomial each constant multiplies (documentation for re-implementations).
SH_POLYNOMIALS: tuple[str, ...] = ("1", "y", "z", "x", "x*y", "y*z", "3*z*z - 1", "x*z", "x*x - y*y")

# Band factors (l = 0, 1, 2) of the clamped cosine kernel (Ramamoorthi and Hanrahan 2001,
# "An efficient representation for irradiance environment maps"): a distant light of unit
# intensity from direction d has coefficients LAMBERT_BAND_FACTORS[l] * phi_lm(d), and its
# shading approximates max(0, n . d).
LAMBERT_BAND_FACTORS: tuple[float, float, float] = (float(np.pi), float(2.0 * np.pi / 3.0), float(np.pi / 4.0))
_BAND_OF_COEFF = (0, 1, 1, 1, 2, 2, 2, 2, 2)


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """The 9 SH basis functions at each normal.

    Args:
        normals: (N, 3) unit vectors (any float dtype); they are used as given, not normalised.

    Returns:
        (N, 9) float32, columns in the order of :data:`SH_CONSTANTS`.
    """
    n = np.asarray(normals, dtype=np.float32)
    if n.ndim != 2 or n.shape[1] != 3:
        raise ValueError(f"normals must have shape (N, 3), got {n.shape}")
    x, y, z = n[:, 0], n[:, 1], n[:, 2]
    c = np.asarray(SH_CONSTANTS, dtype=np.float32)
    out = np.empty((n.shape[0], NUM_SH_COEFFS), dtype=np.float32)
    out[:, 0] = c[0]
    out[:, 1] = c[1] * y
    out[:, 2] = c[2] * z
    out[:, 3] = c[3] * x
    out[:, 4] = c[4] * x * y
    out[:, 5] = c[5] * y * z
    out[:, 6] = c[6] * (3.0 * z * z - 1.0)
    out[:, 7] = c[7] * x * z
    out[:, 8] = c[8] * (x * x - y * y)
    return out


def _check_sh(sh: np.ndarray) -> np.ndarray:
    sh = np.asarray(sh, dtype=np.float32)
    if sh.shape != (NUM_SH_COEFFS, 3):
        raise ValueError(f"sh must have shape (9, 3), got {sh.shape}")
    return sh


def shade(albedo: np.ndarray, normals: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """Lambertian SH shading, Eq. 4: ``albedo * (sh_basis(normals) @ sh)``.

    Args:
        albedo: (N, 3) linear RGB reflectance.
        normals: (N, 3) unit normals in the frame the SH is expressed in (the camera frame).
        sh: (9, 3) coefficients, one column per colour channel.

    Returns:
        (N, 3) float32 linear RGB radiance, not clamped.
    """
    albedo = np.asarray(albedo, dtype=np.float32)
    if albedo.ndim != 2 or albedo.shape[1] != 3:
        raise ValueError(f"albedo must have shape (N, 3), got {albedo.shape}")
    basis = sh_basis(normals)
    if basis.shape[0] != albedo.shape[0]:
        raise ValueError(f"albedo has {albedo.shape[0]} rows but normals have {basis.shape[0]}")
    return albedo * (basis @ _check_sh(sh))


def ambient_sh(level: float | np.ndarray = 1.0) -> np.ndarray:
    """(9, 3) float32 SH of uniform light: :func:`shade` gives ``albedo * level`` for any normal.

    ``level`` is a scalar or an RGB triple (3,).
    """
    level = np.broadcast_to(np.asarray(level, dtype=np.float64), (3,))
    sh = np.zeros((NUM_SH_COEFFS, 3), dtype=np.float64)
    sh[0] = level / SH_CONSTANTS[0]
    return sh.astype(np.float32)


def directional_sh(direction: np.ndarray, intensity: float | np.ndarray = 1.0) -> np.ndarray:
    """(9, 3) float32 SH of a distant light, band-limited to 3 bands.

    Shading with it approximates ``albedo * intensity * max(0, n . d)`` (d = the unit
    ``direction`` toward the light, camera frame) by ``0.09375 + 0.5 c + 0.46875 c^2`` with
    ``c = n . d``: within 0.1 of the clamped cosine everywhere (1.0625 facing the light,
    0.094 at grazing, down to -0.04 on the far side).

    ``intensity`` is a scalar or an RGB triple (3,).
    """
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    norm = np.linalg.norm(d)
    if not norm > 0:
        raise ValueError("the light direction must be a non-zero vector")
    phi = sh_basis((d / norm)[None, :])[0].astype(np.float64)
    factors = np.array([LAMBERT_BAND_FACTORS[b] for b in _BAND_OF_COEFF])
    intensity = np.broadcast_to(np.asarray(intensity, dtype=np.float64), (3,))
    return ((factors * phi)[:, None] * intensity[None, :]).astype(np.float32)


def random_sh(
    rng: np.random.Generator,
    ambient: tuple[float, float] = (0.2, 0.5),
    directional: tuple[float, float] = (0.4, 0.9),
    max_azimuth_deg: float = 75.0,
    elevation_deg: tuple[float, float] = (-15.0, 60.0),
    tint: float = 0.08,
) -> np.ndarray:
    """Plausible indoor lighting: ambient plus one dominant light, with a mild colour tint.

    Args:
        rng: the random generator.
        ambient: range of the uniform ambient level (a white surface facing any way gets it).
        directional: range of the dominant light's intensity (added on surfaces facing it).
        max_azimuth_deg: the dominant light comes from within this angle left or right of the
            camera, seen from the face.
        elevation_deg: range of its elevation above the camera's horizontal plane (positive =
            from above).
        tint: size of the colour cast: each of the two lights gets a warm-to-cool white balance
            of up to this relative amount, plus a third as much random per-channel jitter.

    Returns:
        (9, 3) float32 SH in the camera frame (a frontal face at level 1 looks well exposed).
    """
    azimuth = np.radians(rng.uniform(-max_azimuth_deg, max_azimuth_deg))
    elevation = np.radians(rng.uniform(*elevation_deg))
    # Toward the light, camera frame: the camera looks along +z, so "in front of the face"
    # is -z, "above" is -y.
    direction = np.array([
        np.sin(azimuth) * np.cos(elevation),
        -np.sin(elevation),
        -np.cos(azimuth) * np.cos(elevation),
    ])
    warm_to_cool = np.array([1.0, 0.0, -1.0])

    def white_balance() -> np.ndarray:
        colour = 1.0 + tint * rng.uniform(-1.0, 1.0) * warm_to_cool + tint / 3 * rng.uniform(-1, 1, 3)
        return colour / colour.mean()

    level = rng.uniform(*ambient) * white_balance()
    intensity = rng.uniform(*directional) * white_balance()
    return ambient_sh(level) + directional_sh(direction, intensity)
