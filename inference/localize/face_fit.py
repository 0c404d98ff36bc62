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
from models.face_model import FaceModel
from models.geometry import head_pose_to_camera

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
    def from_face_model(cls, model: FaceModel, cell_m: float = 0.01) -> FaceTemplate:
        """One ``narrow_face`` vertex per ``cell_m`` cube of the mean face, with its normal."""
        region = model.region("narrow_face")
        vertices = model.template[: region.num_vertices].astype(np.float64)
        tri = region.triangles
        face_normals = np.cross(vertices[tri[:, 1]] - vertices[tri[:, 0]], vertices[tri[:, 2]] - vertices[tri[:, 0]])
        normals = np.zeros_like(vertices)
        for k in range(3):
            np.add.at(normals, tri[:, k], face_normals)
        length = np.linalg.norm(normals, axis=1)
        keep = length > 0
        normals[keep] /= length[keep, None]
        # ICT's winding may face either way: make the normals point out of the face (+z at the nose).
        nose = int(np.argmax(vertices[:, 2]))
        if normals[nose, 2] < 0:
            normals = -normals
        cells = np.floor(vertices / cell_m).astype(np.int64)
        _, first = np.unique(cells, axis=0, return_index=True)
        first = np.sort(first[keep[first]])
        centre = model.template[model.landmark_indices].mean(axis=0).astype(np.float64)
        nose_tip = model.template[model.landmark_indices[30]].astype(np.float64)
        return cls(points=vertices[first], normals=normals[first], centre=centre, nose_tip=nose_tip)


@dataclass(frozen=True)
class FitConfig:
    """ICP settings.

    iterations: Gauss-Newton steps per hypothesis.
    tukey_m: the Tukey kernel's width per step (metres), coarse to fine; the last value is
        repeated for the remaining steps.
    max_pair_m: pairs further apart in 3D than this are ignored.
    inlier_m: a template point counts as explained within this point-to-plane distance.
    support_sigma_m: the width of the soft inlier count that ranks hypotheses.
    yaw_hypotheses_deg: starting yaws tried.
    """

    iterations: int = 10
    tukey_m: tuple[float, ...] = (0.04, 0.025, 0.015, 0.01, 0.008)
    max_pair_m: float = 0.05
    inlier_m: float = 0.006
    support_sigma_m: float = 0.003
    yaw_hypotheses_deg: tuple[float, ...] = (0.0, -30.0, 30.0)


@dataclass(frozen=True, eq=False)
class RigidFit:
    """A fitted head pose: camera from head, ``p_cam = rotation @ p_head + translation``.

    inliers: fraction of the template's points explained (see :class:`FitConfig`).
    rms_m: RMS point-to-plane distance of the explained points (metres).
    support: mean over the template's points of ``exp(-r^2 / (2 sigma^2))`` (r the
        point-to-plane distance, 0 for unpaired points, sigma ``FitConfig.support_sigma_m``):
        a soft inlier count that prefers tight fits; the hypotheses compete on it.
    """

    rotation: np.ndarray
    translation: np.ndarray
    inliers: float
    rms_m: float
    support: float


def _pairs(template: FaceTemplate, grid: DepthGrid, mask: np.ndarray, rotation: np.ndarray,
           translation: np.ndarray, max_pair_m: float):
    """Projective association: (posed points, data points, data normals, ok) for the template."""
    p = template.points @ rotation.T + translation
    facing = np.einsum("ij,ij->i", template.normals @ rotation.T, p) < 0
    in_front = p[:, 2] > 0.05
    col, row = grid.project(np.where(in_front[:, None], p, np.array([0.0, 0.0, 1.0])))
    h, w = grid.shape
    c = np.rint(col).astype(np.int64)
    r = np.rint(row).astype(np.int64)
    inside = in_front & (c >= 0) & (c < w) & (r >= 0) & (r < h)
    c = np.where(inside, c, 0)
    r = np.where(inside, r, 0)
    data = grid.xyz[r, c].astype(np.float64)
    normal = grid.normals[r, c].astype(np.float64)
    ok = inside & facing & mask[r, c] & (np.abs(normal).sum(axis=1) > 0)
    ok &= np.einsum("ij,ij->i", p - data, p - data) < max_pair_m * max_pair_m
    return p, data, normal, ok


def _refine(template: FaceTemplate, grid: DepthGrid, mask: np.ndarray, rotation: np.ndarray,
            translation: np.ndarray, config: FitConfig) -> RigidFit:
    rotation = rotation.copy()
    translation = translation.copy()
    for it in range(config.iterations):
        width = config.tukey_m[min(it, len(config.tukey_m) - 1)]
        p, data, normal, ok = _pairs(template, grid, mask, rotation, translation, config.max_pair_m)
        if np.count_nonzero(ok) < 12:
            break
        p, data, normal = p[ok], data[ok], normal[ok]
        residual = np.einsum("ij,ij->i", p - data, normal)
        u = residual / width
        weight = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if weight.sum() < 6:
            break
        centre = p.mean(axis=0)
        jac = np.concatenate([np.cross(p - centre, normal), normal], axis=1)
        jw = jac * weight[:, None]
        hessian = jw.T @ jac + 1e-6 * np.eye(6)
        step = np.linalg.solve(hessian, -(jw.T @ residual))
        turn = _rodrigues(step[:3])
        rotation = turn @ rotation
        translation = turn @ (translation - centre) + centre + step[3:]
        if np.abs(step[:3]).max() < 1e-3 and np.abs(step[3:]).max() < 2e-4 and it >= 4:
            break
    p, data, normal, ok = _pairs(template, grid, mask, rotation, translation, config.max_pair_m)
    residual = np.einsum("ij,ij->i", p - data, normal)
    good = ok & (np.abs(residual) < config.inlier_m)
    rms = float(np.sqrt(np.mean(residual[good] ** 2))) if good.any() else math.inf
    support = float(np.mean(np.where(ok, np.exp(-0.5 * (residual / config.support_sigma_m) ** 2), 0.0)))
    return RigidFit(rotation, translation, float(good.mean()), rms, support)


def fit_face(template: FaceTemplate, grid: DepthGrid, mask: np.ndarray, angle: float,
             starts: list[tuple[np.ndarray, float]], centre_cam: np.ndarray | None = None,
             config: FitConfig | None = None) -> RigidFit | None:
    """Fit the template to ``mask``'s points, head up along the in-plane ``angle``.

    Args:
        starts: ``(nose_cam, yaw)`` pairs: the template's nose tip placed on the (3,) camera
            point, turned by ``yaw`` (radians) about its up axis.
        centre_cam: when given, also tried: the landmark centroid placed there, at each of
            ``config.yaw_hypotheses_deg``.

    Returns:
        The fit with the most support (see :class:`RigidFit`), or None without any start.
    """
    config = config or FitConfig()
    turn = np.array([[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0],
                     [0.0, 0.0, 1.0]])
    tries = [(template.nose_tip, np.asarray(p, np.float64), yaw) for p, yaw in starts]
    if centre_cam is not None:
        tries += [(template.centre, np.asarray(centre_cam, np.float64), math.radians(yaw))
                  for yaw in config.yaw_hypotheses_deg]
    best: RigidFit | None = None
    for anchor_head, anchor_cam, yaw in tries:
        rotation = turn @ head_pose_to_camera(yaw, 0.0, 0.0)
        translation = anchor_cam - rotation @ anchor_head
        fit = _refine(template, grid, mask, rotation, translation, config)
        if best is None or fit.support > best.support:
            best = fit
    return best


def find_noses(grid: DepthGrid, surface: np.ndarray, candidates: np.ndarray, count: int = 3,
               radius_m: float = 0.025, max_fall: float = 0.02) -> list[tuple[int, int]]:
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
    ``radius_m`` apart) for the face fit to choose from.
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

    score = np.full(z.shape, np.inf, np.float32)
    for dr, dc in ((0, r), (r, 0), (d, d), (d, -d)):
        falls = np.fmin(shifted(dr, dc) - z, max_fall) + np.fmin(shifted(-dr, -dc) - z, max_fall)
        score = np.minimum(score, 0.5 * falls)
    inside = candidates[top:bottom, left:right]
    score = np.where(inside & np.isfinite(score), np.maximum(score, 0), 0).astype(np.float32)
    score = cv2.blur(score, (3, 3))
    score[~inside] = 0
    found: list[tuple[int, int]] = []
    for _ in range(count):
        best = int(np.argmax(score))
        if not score.flat[best] > 0.002:
            break
        br, bc = np.unravel_index(best, score.shape)
        found.append((int(br + top), int(bc + left)))
        score[max(br - r, 0): br + r + 1, max(bc - r, 0): bc + r + 1] = 0
    return found
