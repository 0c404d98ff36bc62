"""A rough face pose from depth alone, for a depth map without a network estimate.

Finds the nearest blob of depth (the person), takes the nearest point of its upper part
(the face's most forward point: nose tip, or chin when the head is tilted back) as an
anchor, and refines the rigid pose from a small grid of head orientations placed on that
anchor; the start whose fit covers the most of the face wins. Meant for real-data checks
and as a fallback initialisation, not for every frame (a few hundred milliseconds).
"""

from __future__ import annotations

import dataclasses
import logging

import cv2
import numpy as np

from inference.refine.config import RefineConfig
from inference.refine.refiner import DepthRefiner
from inference.refine.result import RefineResult
from models.camera import Intrinsics
from models.face_model import FaceModel
from models.geometry import depth_to_xyz, head_pose_to_camera
from models.metrics import fit_error_mm

log = logging.getLogger(__name__)


def nearest_face_anchor(depth: np.ndarray, intrinsics: Intrinsics, band_m: float = 0.2,
                        upper_fraction: float = 0.45) -> np.ndarray | None:
    """A camera-frame point (3,) in metres on the front of the face, or None without depth.

    The person is the connected blob of pixels within ``band_m`` of the nearest valid
    depth; the anchor is the nearest point within the top ``upper_fraction`` of the blob's
    rows (the head sits on top; shoulders, hands and the torso are lower).
    """
    valid = np.isfinite(depth) & (depth > 0)
    if not np.any(valid):
        return None
    masked = np.where(valid, depth, np.inf)
    row, col = np.unravel_index(int(np.argmin(masked)), depth.shape)
    near = valid & (depth < masked[row, col] + band_m)
    _, labels = cv2.connectedComponents(near.astype(np.uint8))
    person = labels == labels[row, col]
    rows = np.flatnonzero(person.any(axis=1))
    upper = person.copy()
    upper[int(rows[0] + upper_fraction * (rows[-1] - rows[0])) + 1:] = False
    row, col = np.unravel_index(int(np.argmin(np.where(upper, depth, np.inf))), depth.shape)
    xyz, _ = depth_to_xyz(depth, intrinsics)
    return xyz[row, col].astype(np.float64)


def coarse_fit(model: FaceModel, depth: np.ndarray, intrinsics: Intrinsics, anchor: np.ndarray | None = None,
               pitches_deg: tuple[float, ...] = (-60.0, -45.0, -30.0, -15.0, 0.0, 15.0),
               yaws_deg: tuple[float, ...] = (-25.0, 0.0, 25.0), config: RefineConfig | None = None,
               cap_mm: float = 10.0) -> RefineResult | None:
    """The best fit from a grid of head orientations placed on ``anchor`` (found when None).

    Each start puts the mean face (identity and expression zero) so that its most forward
    vertex lies on the anchor, and runs a long, rigid-first refinement. The winner has the
    lowest narrow-face fit error (:func:`models.metrics.fit_error_mm`, each distance capped at
    ``cap_mm`` so that occluded or off-face vertices count but do not dominate). Returns
    None when there is no depth or no start succeeds.
    """
    if anchor is None:
        anchor = nearest_face_anchor(depth, intrinsics)
        if anchor is None:
            return None
    base = config or RefineConfig()
    search = DepthRefiner(model, dataclasses.replace(
        base, iterations=12, rigid_iterations=6, max_rotation_change_deg=90.0, max_translation_change_mm=250.0))
    face = model.vertices(region="narrow_face").astype(np.float64)
    zeros_identity, zeros_expression = np.zeros(model.num_identity), np.zeros(model.num_expression)
    best: tuple[float, RefineResult] | None = None
    for pitch in pitches_deg:
        for yaw in yaws_deg:
            rotation = head_pose_to_camera(np.radians(yaw), np.radians(pitch), 0.0)
            posed = face @ rotation.T
            translation = anchor - posed[int(np.argmin(posed[:, 2]))]
            result = search.refine(depth, intrinsics, rotation, translation, zeros_identity, zeros_expression)
            if not result.success:
                continue
            fitted = model.vertices(result.identity, result.expression, region="narrow_face")
            fitted = fitted.astype(np.float64) @ result.rotation.T + result.translation
            distances = fit_error_mm(fitted, depth, intrinsics)
            score = float(np.mean(np.minimum(distances, cap_mm))) if len(distances) else np.inf
            log.debug("coarse start yaw %+.0f pitch %+.0f: capped fit error %.2f mm", yaw, pitch, score)
            if best is None or score < best[0]:
                best = (score, result)
    return None if best is None else best[1]
