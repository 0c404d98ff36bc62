"""Rigid fit of the mean face to a depth grid: the head pose that places the crop.

A few hundred points of the face model's neutral mean face (the ``narrow_face`` region, one
per ~1 cm cell) are registered to the grid's points by projective point-to-plane ICP: each
template point is projected into the grid, paired with the measured point and normal there,
and a Gauss-Newton step on the 6 pose parameters (rotation about the template's centroid,
translation) minimises Tukey-weighted point-to-plane distances. Starting hypotheses come from
the silhouette (up direction, head centre) with a few yaw angles; the one whose fit explains
the most template points wins. The fitted pose gives the crop exactly as training places it:
centred on the 68 landmarks' centroid (:attr:`FaceTemplate.centre`), angled by the head's up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inference.localize.grid import DepthGrid
from models.conventions import face_centre_in_head
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera
from models.normals import vertex_normals

__all__ = ["FaceTemplate", "FitConfig", "RigidFit", "fit_face"]


def _rodrigues(w: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(w))
    if theta < 1e-12:
        return np.eye(3)
    k = w / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * (kx @ kx)


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """Sparse neutral face in the head frame (x subject's left, y up, z out; metres).

    points, normals: (M, 3) float64 surface samples and outward unit normals.
    centre: (3,) the 68 landmarks' centroid: the point training centres its crops on.
    nose_tip: (3,) landmark 30, the nose tip.
    """

    points: np.ndarray
    normals: np.ndarray
    centre: np.ndarray
    nose_tip: np.ndarray

    @classmethod
    def from_face_model(cls, model: FaceModel, cell_m: float = 0.014) -> FaceTemplate:
        """One ``narrow_face`` vertex per ``cell_m`` cube of the mean face, with its normal."""
        region = model.region("narrow_face")
        vertices = model.template[: region.num_vertices].astype(np.float64)
        normals = vertex_normals(vertices, region.triangles).astype(np.float64)
        # ICT's winding may face either way: make the normals point out of the face (+z at the nose).
        nose = int(np.argmax(vertices[:, 2]))
        if normals[nose, 2] < 0:
            normals = -normals
        cells = np.floor(vertices / cell_m).astype(np.int64)
        _, first = np.unique(cells, axis=0, return_index=True)
        keep = np.linalg.norm(normals, axis=1) > 0  # vertices of no triangle have no normal
        first = np.sort(first[keep[first]])
        centre = face_centre_in_head(model)
        nose_tip = model.template[model.landmark_indices[30]].astype(np.float64)
        return cls(points=vertices[first], normals=normals[first], centre=centre, nose_tip=nose_tip)


@dataclass(frozen=True)
class FitConfig:
    """ICP settings.

    iterations: Gauss-Newton steps of the winning hypothesis.
    screen_iterations: steps every hypothesis runs before the best is kept.
    tukey_m: the Tukey kernel's width per step (metres), coarse to fine; the last value is
        repeated for the remaining steps.
    max_pair_m: pairs further apart in 3D than this are ignored.
    inlier_m: a template point counts as explained within this point-to-plane distance.
    support_sigma_m: the width of the soft inlier count that ranks hypotheses.
    """

    iterations: int = 10
    screen_iterations: int = 4
    tukey_m: tuple[float, ...] = (0.04, 0.025, 0.015, 0.01, 0.008)
    max_pair_m: float = 0.05
    inlier_m: float = 0.006
    support_sigma_m: float = 0.003


@dataclass(frozen=True, eq=False)
class RigidFit:
    """A fitted head pose: camera from head, ``p_cam = rotation @ p_head + translation``.

    inliers: fraction of the template's points explained (see :class:`FitConfig`).
    rms_m: RMS point-to-plane distance of the explained points (metres).
    support: mean over the template's points of ``exp(-r^2 / (2 sigma^2))`` (r the
        point-to-plane distance, 0 for unpaired points, sigma ``FitConfig.support_sigma_m``):
        a soft inlier count that prefers tight fits; the hypotheses compete on it.
    relief_m: RMS distance (metres) of the measured points under the explained template
        points from the best quadric surface through them: a face's nose, eye sockets and
        mouth stand out (several mm); a ball, a box side or a wall, which a face template
        also fits passably, is smooth (about the sensor noise).
    """

    rotation: np.ndarray
    translation: np.ndarray
    inliers: float
    rms_m: float
    support: float
    relief_m: float


class _Data:
    """The grid flattened for fast gathers: points, the person mask, and neighbour offsets."""

    def __init__(self, grid: DepthGrid, mask: np.ndarray):
        h, w = grid.shape
        self.grid, self.h, self.w = grid, h, w
        self.xyz = grid.xyz.reshape(-1, 3).astype(np.float64)
        ok = mask & grid.valid
        # A cell has a normal when its four neighbours are on the surface too.
        inner = np.zeros_like(ok)
        inner[1:-1, 1:-1] = ok[1:-1, 1:-1] & ok[:-2, 1:-1] & ok[2:, 1:-1] & ok[1:-1, :-2] & ok[1:-1, 2:]
        self.usable = inner.ravel()

    def pairs(self, p: np.ndarray, facing: np.ndarray, max_pair_m: float):
        """Projective association of posed points (M, 3): (index of the paired points in p,
        their data points (K, 3), data normals (K, 3))."""
        g = self.grid
        k, s = g.intrinsics, g.step
        z = p[:, 2]
        ok = facing & (z > 0.05)
        z = np.where(ok, z, 1.0)
        col = np.rint((k.fx * p[:, 0] / z + k.cx) / s).astype(np.int64)
        row = np.rint((k.fy * p[:, 1] / z + k.cy) / s).astype(np.int64)
        ok &= (col >= 0) & (col < self.w) & (row >= 0) & (row < self.h)
        index = np.flatnonzero(ok)
        cell = row[index] * self.w + col[index]
        keep = self.usable[cell]
        index, cell = index[keep], cell[keep]
        data = self.xyz[cell]
        d = p[index] - data
        near = (d * d).sum(axis=1) < max_pair_m * max_pair_m
        index, cell, data = index[near], cell[near], data[near]
        dx = self.xyz[cell + 1] - self.xyz[cell - 1]
        dy = self.xyz[cell + self.w] - self.xyz[cell - self.w]
        normal = np.stack([dx[:, 1] * dy[:, 2] - dx[:, 2] * dy[:, 1],
                           dx[:, 2] * dy[:, 0] - dx[:, 0] * dy[:, 2],
                           dx[:, 0] * dy[:, 1] - dx[:, 1] * dy[:, 0]], axis=1)
        length = np.sqrt((normal * normal).sum(axis=1))
        good = length > 0
        index, data, normal = index[good], data[good], normal[good] / length[good, None]
        return index, data, normal


def _posed(template: FaceTemplate, rotation: np.ndarray, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posed template points (M, 3) and whether each faces the camera (M,)."""
    p = template.points @ rotation.T + translation
    n = template.normals @ rotation.T
    return p, (n * p).sum(axis=1) < 0


def _steps(template: FaceTemplate, data: _Data, rotation: np.ndarray, translation: np.ndarray,
           config: FitConfig, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton steps ``first`` to ``last`` (exclusive) of the point-to-plane ICP."""
    for it in range(first, last):
        width = config.tukey_m[min(it, len(config.tukey_m) - 1)]
        p, facing = _posed(template, rotation, translation)
        index, target, normal = data.pairs(p, facing, config.max_pair_m)
        if len(index) < 12:
            break
        p = p[index]
        residual = ((p - target) * normal).sum(axis=1)
        u = residual / width
        weight = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if weight.sum() < 6:
            break
        centre = p.mean(axis=0)
        q = p - centre
        arm = np.stack([q[:, 1] * normal[:, 2] - q[:, 2] * normal[:, 1],
                        q[:, 2] * normal[:, 0] - q[:, 0] * normal[:, 2],
                        q[:, 0] * normal[:, 1] - q[:, 1] * normal[:, 0]], axis=1)
        jac = np.concatenate([arm, normal], axis=1)
        jw = jac * weight[:, None]
        step = np.linalg.solve(jw.T @ jac + 1e-6 * np.eye(6), -(jw.T @ residual))
        turn = _rodrigues(step[:3])
        rotation = turn @ rotation
        translation = turn @ (translation - centre) + centre + step[3:]
        if np.abs(step[:3]).max() < 1e-3 and np.abs(step[3:]).max() < 2e-4:
            break
    return rotation, translation


def _score(template: FaceTemplate, data: _Data, rotation: np.ndarray, translation: np.ndarray,
           config: FitConfig) -> RigidFit:
    p, facing = _posed(template, rotation, translation)
    index, target, normal = data.pairs(p, facing, config.max_pair_m)
    residual = ((p[index] - target) * normal).sum(axis=1)
    m = len(template.points)
    good = np.abs(residual) < config.inlier_m
    rms = float(np.sqrt(np.mean(residual[good] ** 2))) if good.any() else math.inf
    support = float(np.exp(-0.5 * (residual / config.support_sigma_m) ** 2).sum() / m)
    return RigidFit(rotation, translation, float(good.sum() / m), rms, support, _relief(target[good]))


def _relief(points: np.ndarray) -> float:
    """RMS distance (metres, along z) of (N, 3) points from their least-squares quadric
    ``z = f(x, y)``; 0 for fewer than 12 points."""
    if len(points) < 12:
        return 0.0
    x, y = (points[:, :2] - points[:, :2].mean(axis=0)).T
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, points[:, 2], rcond=None)
    return float(np.sqrt(np.mean((basis @ coefficients - points[:, 2]) ** 2)))


def fit_face(template: FaceTemplate, grid: DepthGrid, mask: np.ndarray, angle: float,
             starts: list[tuple[np.ndarray, float]], config: FitConfig | None = None) -> RigidFit | None:
    """Fit the template to ``mask``'s points, head up along the in-plane ``angle``.

    Every start runs ``config.screen_iterations`` ICP steps; the one with the most support
    runs the rest.

    Args:
        starts: ``(nose_cam, yaw)`` pairs: the template's nose tip placed on the (3,) camera
            point, turned by ``yaw`` (radians) about its up axis.

    Returns:
        The fit (see :class:`RigidFit`), or None without any start.
    """
    config = config or FitConfig()
    if not starts:
        return None
    data = _Data(grid, mask)
    turn = np.array([[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0],
                     [0.0, 0.0, 1.0]])
    screen = min(config.screen_iterations, config.iterations)
    best: RigidFit | None = None
    for nose_cam, yaw in starts:
        rotation = turn @ head_pose_to_camera(yaw, 0.0, 0.0)
        translation = np.asarray(nose_cam, np.float64) - rotation @ template.nose_tip
        rotation, translation = _steps(template, data, rotation, translation, config, 0, screen)
        fit = _score(template, data, rotation, translation, config)
        if best is None or fit.support > best.support:
            best = fit
    rotation, translation = _steps(template, data, best.rotation, best.translation, config, screen,
                                   config.iterations)
    return _score(template, data, rotation, translation, config)


def find_noses(grid: DepthGrid, surface: np.ndarray, candidates: np.ndarray, count: int = 3,
               relaxed_count: int = 0, radius_m: float = 0.025, max_fall: float = 0.02) -> list[tuple[int, int]]:
    """Up to ``count`` grid cells (row, col) where the nose tip may be, best first: the most
    convex cells of ``candidates`` (the head) on the ``surface`` (the person; (h, w) masks).

    Convexity at a cell is the least, over four axes through it, of the depth's second
    difference at ``radius_m`` (half the sum of the two depths ``radius_m`` away, minus the
    cell's own), each fall capped at ``max_fall`` (a depth jump, or a sample off ``surface``,
    counts as a fall of ``max_fall``), then averaged over 3x3 cells against single noisy
    cells. A plane scores 0 at any tilt; the nose tip, behind which the surface falls away in
    every direction (cheeks, nose bridge, upper lip; past the silhouette when the head is
    turned far), scores highest; the chin, the brow or a cheek curve away along some axes only.
    An ear seen past a turned head can score high too, hence several candidates (at least
    ``radius_m`` apart) for the face fit to choose from. ``relaxed_count`` more follow, ranked
    by the mean over the axes instead of the least: a nose seen from far below or above (a head
    tilted far back) is convex across but not along the face.
    """
    rows, cols = np.nonzero(candidates)
    if len(rows) < 20:
        return []
    z_mid = float(np.median(grid.z[rows, cols]))
    r = max(2, round(radius_m * grid.focal / z_mid))
    d = max(1, round(r / math.sqrt(2)))
    h, w = grid.shape
    top, left = max(rows.min() - r, 0), max(cols.min() - r, 0)
    bottom, right = min(rows.max() + 1 + r, h), min(cols.max() + 1 + r, w)
    z = np.where(surface[top:bottom, left:right], grid.z[top:bottom, left:right], np.nan).astype(np.float32)
    big = np.full((z.shape[0] + 2 * r, z.shape[1] + 2 * r), np.nan, np.float32)
    big[r:-r, r:-r] = z

    def shifted(dr: int, dc: int) -> np.ndarray:
        return big[r + dr: r + dr + z.shape[0], r + dc: r + dc + z.shape[1]]

    strict = np.full(z.shape, np.inf, np.float32)
    relaxed = np.zeros(z.shape, np.float32)
    for dr, dc in ((0, r), (r, 0), (d, d), (d, -d)):
        falls = 0.5 * (np.fmin(shifted(dr, dc) - z, max_fall) + np.fmin(shifted(-dr, -dc) - z, max_fall))
        strict = np.minimum(strict, falls)
        relaxed += 0.25 * falls
    inside = candidates[top:bottom, left:right]
    found: list[tuple[int, int]] = []
    for score, wanted in ((strict, count), (relaxed, relaxed_count)):
        score = np.where(inside & np.isfinite(score), np.maximum(score, 0), 0).astype(np.float32)
        score = cv2.blur(score, (3, 3))
        score[~inside] = 0
        for br, bc in found:  # not again near a cell already found
            score[max(br - top - r, 0): br - top + r + 1, max(bc - left - r, 0): bc - left + r + 1] = 0
        for _ in range(wanted):
            best = int(np.argmax(score))
            if not score.flat[best] > 0.002:
                break
            br, bc = np.unravel_index(best, score.shape)
            found.append((int(br + top), int(bc + left)))
            score[max(br - r, 0): br + r + 1, max(bc - r, 0): bc + r + 1] = 0
    return found
