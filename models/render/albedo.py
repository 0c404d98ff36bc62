"""A small, hand-built linear albedo model for the face model's ``head`` region.

What it is: ICT-FaceKit ships no albedo (reflectance) basis, so this module builds one
procedurally, when it is loaded, from nothing but the face model's neutral template and its
68 landmarks. It is a linear model in the paper's form (Eq. 2, ``b = b_mean + A_alb alpha``):
per-vertex linear-RGB reflectance ``colors(c) = clip(mean + sum_k c[k] * basis[k], 0, 1)``
over the 11,248 ``head`` vertices. No photographs, scans or statistics of real faces went
into it: every number is a hand-chosen colour (written as 8-bit sRGB below) or a smooth
weight field on the template. It is meant to give synthetic renders plausible, varied skin,
not to be a measured model of human skin.

The K = 10 components, each roughly N(0, 1) (:meth:`AlbedoModel.sample` draws them, with
smaller local variations on darker skin):

0. **lightness** (skin tone, melanin-like): -2.5 gives deep brown skin, 0 a light-medium
   tone, +2.5 very fair skin.
   The axis differs per material, so lips and brows darken and lighten with the skin.
1. **redness** (pink vs sallow): more red, less green and blue, everywhere.
2. **yellowness** (olive/golden vs cool): more red and green, less blue, everywhere.
3. **lip colour**: positive = redder, deeper lips; inside the lip region (below).
4. **brow darkness**: positive = darker, negative = fairer eyebrows.
5. **stubble**: positive = a darker, slightly cool beard shadow on the upper lip, chin, jaw,
   lower cheeks and under the chin; negative lightens that area slightly.
6. **eye-socket shading**: positive = darker, slightly violet skin around the eyes.
7. **cheek flush**: positive = rosy cheeks.
8. **vertical tone gradient**: forehead vs chin and neck lighter/darker (low frequency).
9. **central redness**: redness around the nose and central cheeks vs the periphery
   (low frequency).

The regions are weights in [0, 1] on the template with smooth falloffs of a few millimetres:
lips inside the outer lip contour (landmarks 48-59), brows along landmarks 17-26, eyes around
36-47, cheeks between the eyes, the nose wings and the mouth corners. As the fields live on
vertices, they follow any identity or expression of the face model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.face_model import REGION_SIZES, FaceModel
from models.render.color import srgb_to_linear

__all__ = ["ALBEDO_COMPONENTS", "AlbedoModel", "region_weights", "skin_luminance_ratio"]

ALBEDO_COMPONENTS: tuple[str, ...] = (
    "lightness",
    "redness",
    "yellowness",
    "lip_colour",
    "brow_darkness",
    "stubble",
    "eye_socket",
    "cheek_flush",
    "vertical_gradient",
    "central_redness",
)

_REGION = "head"
_MM = 1e-3


def _linear(srgb8: tuple[int, int, int]) -> np.ndarray:
    return srgb_to_linear(np.asarray(srgb8, dtype=np.float32) / 255.0)


# Each material at lightness -2.5 ("dark") and +2.5 ("light"), 8-bit sRGB; the mean is
# their linear midpoint and the lightness axis a fifth of their linear difference.
_LIGHTNESS_SPAN = 2.5
_SKIN = (_linear((80, 47, 31)), _linear((246, 206, 178)))
_LIPS = (_linear((86, 38, 40)), _linear((214, 128, 124)))
_BROWS = (_linear((30, 21, 18)), _linear((150, 112, 88)))

# Linear-RGB offsets per unit coefficient (times a region weight for the local components).
_REDNESS = np.array([0.016, -0.003, -0.004], dtype=np.float32)
_YELLOWNESS = np.array([0.008, 0.006, -0.006], dtype=np.float32)
_LIP_DEEPER = np.array([0.015, -0.010, -0.006], dtype=np.float32)
_BROW_DARKER = np.array([-0.050, -0.038, -0.030], dtype=np.float32)
_STUBBLE = np.array([-0.045, -0.036, -0.024], dtype=np.float32)
_EYE_SOCKET = np.array([-0.024, -0.019, -0.009], dtype=np.float32)
_CHEEK_FLUSH = np.array([0.024, -0.005, -0.004], dtype=np.float32)
# Mean (coefficient 0) amounts of the local effects, as fractions of the offsets above.
_MEAN_EYE_SOCKET = 0.6
_MEAN_CHEEK_FLUSH = 0.5
# Low-frequency fields (peak magnitude 1): modulation per unit coefficient where the field
# peaks, in units of the lightness axis (vertical gradient) and of the redness offset
# (central redness).
_GRADIENT_SCALE = 0.3
_CENTRAL_REDNESS_SCALE = 0.8
# Sampled coefficients are cut at this many standard deviations (keeps tones in range).
_SAMPLE_LIMIT = 2.5


def skin_luminance_ratio(lightness: float) -> float:
    """Relative luminance of plain skin at lightness coefficient ``lightness`` vs the mean
    (at 0), clipped to [0.15, 1]; :meth:`AlbedoModel.sample` scales the other coefficients by it."""
    dark, light = _SKIN
    mid, axis = 0.5 * (dark + light), (light - dark) / (2 * _LIGHTNESS_SPAN)
    rec709 = np.array([0.2126, 0.7152, 0.0722])
    ratio = float(rec709 @ (mid + lightness * axis)) / float(rec709 @ mid)
    return float(np.clip(ratio, 0.15, 1.0))


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _polygon_signed_distance(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Signed 2-D distance (negative inside) from points (N, 2) to a closed polygon (M, 2)."""
    a = polygon
    b = np.roll(polygon, -1, axis=0)
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip(np.sum(ap * ab, axis=2) / np.sum(ab * ab, axis=1), 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    distance = np.min(np.linalg.norm(points[:, None, :] - closest, axis=2), axis=1)
    # Even-odd rule: count the edges a ray toward +x crosses.
    py = points[:, 1:2]
    crosses = (a[None, :, 1] > py) != (b[None, :, 1] > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[None, :, 0] + (py - a[None, :, 1]) * ab[None, :, 0] / ab[None, :, 1]
    inside = np.sum(crosses & (points[:, 0:1] < x_at), axis=1) % 2 == 1
    return np.where(inside, -distance, distance)


def _polyline_distance(points: np.ndarray, polyline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3-D distance from points (N, 3) to an open polyline (M, 3), and the arc-length
    parameter in [0, 1] of the closest point."""
    a, b = polyline[:-1], polyline[1:]
    ab = b - a
    lengths = np.linalg.norm(ab, axis=1)
    start = np.concatenate([[0.0], np.cumsum(lengths)[:-1]]) / lengths.sum()
    ap = points[:, None, :] - a[None]
    t = np.clip(np.sum(ap * ab[None], axis=2) / (lengths**2)[None], 0.0, 1.0)
    distance = np.linalg.norm(points[:, None, :] - (a[None] + t[..., None] * ab[None]), axis=2)
    best = np.argmin(distance, axis=1)
    rows = np.arange(points.shape[0])
    s = start[best] + t[rows, best] * lengths[best] / lengths.sum()
    return distance[rows, best], s


def _unit_peak(field: np.ndarray) -> np.ndarray:
    """The field minus its mean, scaled to a largest magnitude of 1."""
    field = field - field.mean()
    return field / np.abs(field).max()


def region_weights(model: FaceModel) -> dict[str, np.ndarray]:
    """The smooth region weights on the ``head`` template: name -> (N,) float32 in [0, 1].

    Names: ``lips``, ``brows``, ``stubble``, ``eye_socket``, ``cheeks``; plus the zero-mean
    low-frequency fields ``vertical`` and ``central``, scaled to peak magnitude 1 (in [-1, 1]).
    Distances are measured on the neutral template in metres.
    """
    n = REGION_SIZES[_REGION]
    p = model.template[:n].astype(np.float64)
    lm = model.template[model.landmark_indices].astype(np.float64)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = _smoothstep(0.055, 0.075, z)  # the face's front, not the ears or the back of the head

    # Lips: inside the outer lip contour seen from the front, 2 mm soft border.
    lip_sd = _polygon_signed_distance(p[:, :2], lm[48:60, :2])
    lips = (1.0 - _smoothstep(-1.0 * _MM, 1.5 * _MM, lip_sd)) * _smoothstep(0.075, 0.09, z)

    # Brows: a band centred 3 mm below the brow landmarks, 4.5 mm half-height at the inner
    # end tapering to 2.5 mm at the tail, 1.5 mm soft edge.
    brows = np.zeros(n)
    for side in (lm[21:16:-1], lm[22:27]):  # each from the inner end outward
        band = side - np.array([0.0, 3.0 * _MM, 0.0])
        distance, s = _polyline_distance(p, band)
        half = (4.5 - 2.0 * s) * _MM
        brows = np.maximum(brows, 1.0 - _smoothstep(half - 1.5 * _MM, half + 1.5 * _MM, distance))
    brows *= front

    # Eye sockets: an elliptic falloff around each eye, centred slightly below it.
    eye_socket = np.zeros(n)
    for eye in (lm[36:42], lm[42:48]):
        centre = eye.mean(axis=0) - np.array([0.0, 3.0 * _MM, 0.0])
        r2 = ((x - centre[0]) / (20 * _MM)) ** 2 + ((y - centre[1]) / (13 * _MM)) ** 2
        eye_socket = np.maximum(eye_socket, np.exp(-r2))
    eye_socket *= front

    # Cheeks: a round falloff between the eye, the nose wing, the jaw and the mouth corner.
    cheeks = np.zeros(n)
    for corners in ([31, 41, 2, 48], [35, 46, 14, 54]):
        centre = lm[corners].mean(axis=0)
        cheeks = np.maximum(cheeks, np.exp(-np.sum((p - centre) ** 2, axis=1) / (2 * (16 * _MM) ** 2)))
    cheeks *= front

    # Stubble: below a line from under the nose up to the sideburns, down to the upper neck,
    # on the front and sides of the head, not on the lips.
    nose_base = lm[33, 1] - 4.0 * _MM
    top = nose_base + (lm[0, 1] - nose_base) * _smoothstep(0.035, 0.072, np.abs(x))
    stubble = 1.0 - _smoothstep(top - 6.0 * _MM, top + 6.0 * _MM, y)
    stubble *= _smoothstep(lm[8, 1] - 0.045, lm[8, 1] - 0.02, y)  # fades out down the neck
    stubble *= _smoothstep(0.0, 0.02, z)
    lips_wide = 1.0 - _smoothstep(0.5 * _MM, 3.5 * _MM, lip_sd)
    stubble *= 1.0 - lips_wide

    head_size = np.ptp(p, axis=0)
    centre_face = lm[30]
    vertical = _unit_peak(np.clip((y - centre_face[1]) / (0.5 * head_size[1]), -1.0, 1.0))
    central = _unit_peak(
        np.exp(-(((x - centre_face[0]) / 0.035) ** 2 + ((y - centre_face[1]) / 0.04) ** 2)) * front
    )
    weights = {
        "lips": lips, "brows": brows, "stubble": stubble, "eye_socket": eye_socket, "cheeks": cheeks,
        "vertical": vertical, "central": central,
    }
    return {name: w.astype(np.float32) for name, w in weights.items()}


@dataclass(frozen=True, eq=False)
class AlbedoModel:
    """Linear per-vertex albedo of the ``head`` region (see the module doc for what it is).

    Attributes:
        mean: (N, 3) float32 linear RGB reflectance in [0, 1], N = 11,248 head vertices.
        basis: (K, N, 3) float32 linear-RGB offsets per unit coefficient, K = 10, in the
            order of :data:`ALBEDO_COMPONENTS`.
        names: the K component names.
    """

    mean: np.ndarray
    basis: np.ndarray
    names: tuple[str, ...] = ALBEDO_COMPONENTS

    @property
    def num_components(self) -> int:
        return self.basis.shape[0]

    @property
    def num_vertices(self) -> int:
        return self.mean.shape[0]

    @classmethod
    def from_face_model(cls, model: FaceModel) -> AlbedoModel:
        """Build the model on ``model``'s head template (deterministic, about 0.1 s)."""
        w = region_weights(model)
        lips, brows = w["lips"][:, None], w["brows"][:, None]
        skin_weight = (1.0 - lips) * (1.0 - brows)
        brow_weight = (1.0 - lips) * brows

        def blend(skin: np.ndarray, lip: np.ndarray, brow: np.ndarray) -> np.ndarray:
            return skin_weight * skin + lips * lip + brow_weight * brow

        mid = [0.5 * (dark + light) for dark, light in (_SKIN, _LIPS, _BROWS)]
        axis = [(light - dark) / (2 * _LIGHTNESS_SPAN) for dark, light in (_SKIN, _LIPS, _BROWS)]
        mean = blend(*mid)
        mean = mean + _MEAN_EYE_SOCKET * w["eye_socket"][:, None] * _EYE_SOCKET
        mean = mean + _MEAN_CHEEK_FLUSH * w["cheeks"][:, None] * _CHEEK_FLUSH
        lightness = blend(*axis)
        ones = np.ones_like(lips)
        basis = [
            lightness,
            ones * _REDNESS,
            ones * _YELLOWNESS,
            lips * _LIP_DEEPER,
            brows * _BROW_DARKER,
            w["stubble"][:, None] * _STUBBLE,
            w["eye_socket"][:, None] * _EYE_SOCKET,
            w["cheeks"][:, None] * _CHEEK_FLUSH,
            _GRADIENT_SCALE * w["vertical"][:, None] * lightness,
            _CENTRAL_REDNESS_SCALE * w["central"][:, None] * _REDNESS,
        ]
        return cls(
            mean=np.clip(mean, 0.0, 1.0).astype(np.float32),
            basis=np.stack(basis).astype(np.float32),
        )

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """(K,) float32 random coefficients for plausible faces.

        Each coefficient is N(0, 1) cut at +-2.5. The model is additive, but real skin varies
        multiplicatively (an offset that is subtle on fair skin turns dark lips teal), so the
        coefficients after the lightness are scaled by the skin's luminance relative to the
        mean (between 0.15 and 1): dark skin gets proportionally smaller local variations.
        """
        coeffs = np.clip(rng.standard_normal(self.num_components), -_SAMPLE_LIMIT, _SAMPLE_LIMIT)
        coeffs[1:] *= skin_luminance_ratio(float(coeffs[0]))
        return coeffs.astype(np.float32)

    def colors(self, coeffs: np.ndarray) -> np.ndarray:
        """(N, 3) float32 linear RGB albedo in [0, 1] for (K,) coefficients (fewer = leading)."""
        coeffs = np.asarray(coeffs, dtype=np.float32).reshape(-1)
        k = coeffs.shape[0]
        if k > self.num_components:
            raise ValueError(f"got {k} coefficients for a model of {self.num_components} components")
        out = self.mean + np.tensordot(coeffs, self.basis[:k], axes=1)
        return np.clip(out, 0.0, 1.0).astype(np.float32)
