"""Face detection in a depth map, with no colour: depth and RGB-D modes.

Steps (all on a ~160-cell grid, see :class:`~inference.localize.grid.DepthGrid`):

1. :func:`~inference.localize.segment.segment_person`: the nearest surface large enough to be
   a face, and the shoulders attached to it across small depth steps.
2. :func:`~inference.localize.silhouette.body_up`: the up direction, from where the body
   leaves the image (or from the shoulders) toward the crown: the in-plane roll at any angle,
   with no 180-degree ambiguity. A lone head: its principal axis, signed by the caller's prior
   (the tracked angle) or upright.
3. :func:`~inference.localize.silhouette.head_region`: the head's points; a first guess of the
   landmark centroid below the crown and behind the nearest surface.
4. :func:`~inference.localize.face_fit.find_noses` and
   :func:`~inference.localize.face_fit.fit_face` (when a face template is given): the mean face
   registered to the person's points by ICP, started with its nose tip on the head's most
   convex cells. Its pose gives the crop exactly as training places crops: centred on the 68
   landmarks' centroid, turned upright by the head's own up (so head roll relative to the body,
   yaw and pitch are accounted for), ``extent_m`` wide. A fit that explains less than
   ``min_inliers`` of the face, or lies on a surface with less relief than a face
   (``min_relief_m``), means no face (a wall, a box, a ball). Without a template the
   silhouette's guess is used (coarser: ~3 cm off; no yaw).

Returns None for frames with no face: empty, all-invalid, a wall, no face-shaped surface.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from inference.localize.face_fit import FaceTemplate, FitConfig, RigidFit, find_noses, fit_face
from inference.localize.grid import DepthGrid
from inference.localize.segment import SegmentConfig, segment_person
from inference.localize.silhouette import HeadRegion, SilhouetteConfig, body_up, head_region, up_vector
from inference.localize.types import Localization, Origin
from models.camera import Intrinsics
from models.crop import angle_from_up, crop_from_point
from models.face_model import FaceModel

__all__ = ["DepthLocalizer", "DepthLocalizerConfig", "crop_angle_of_pose"]

log = logging.getLogger(__name__)


def crop_angle_of_pose(intrinsics: Intrinsics, rotation: np.ndarray, centre_cam: np.ndarray) -> float:
    """The crop angle that shows a head with camera-from-head ``rotation`` upright at
    ``centre_cam``: the image direction of its +y axis (as training computes it)."""
    centre = np.asarray(centre_cam, np.float64)
    up = intrinsics.project(centre + 0.05 * np.asarray(rotation)[:, 1]) - intrinsics.project(centre)
    return angle_from_up(up, intrinsics)


@dataclass(frozen=True)
class DepthLocalizerConfig:
    """Settings of :class:`DepthLocalizer`.

    cells: grid samples along the frame's longer side.
    extent_m: metric side of the crop (the crop recipe's ``metric_extent_m``).
    crown_to_centre_m: the landmark centroid's distance below the crown (silhouette guess).
    surface_to_centre_m: ... and behind the head's nearest surface.
    min_inliers: the face fit must explain this fraction of the template to be used, ...
    min_relief_m: ... and the surface under it must have a face's relief (see
        :class:`~inference.localize.face_fit.RigidFit`; faces measured 3.9-8 mm, the sensor's
        noise on a smooth ball ~1-2 mm).
    nose_candidates: how many nose-tip candidates the face fit starts from.
    retry_below_inliers: a fit explaining less than this fraction of the face is tried again
        from more starting points (see :meth:`DepthLocalizer._fit`).
    nose_to_axis_m: the nose tip's distance in front of the axis the head turns about.
    max_crown_width_m: the top 10 cm of a head is narrower than this (a wall's is not).
    """

    cells: int = 160
    extent_m: float = 0.26
    crown_to_centre_m: float = 0.14
    surface_to_centre_m: float = 0.035
    min_inliers: float = 0.35
    min_relief_m: float = 0.0025
    nose_candidates: int = 3
    retry_below_inliers: float = 0.42
    nose_to_axis_m: float = 0.11
    max_crown_width_m: float = 0.32
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    silhouette: SilhouetteConfig = field(default_factory=SilhouetteConfig)
    fit: FitConfig = field(default_factory=FitConfig)


def _edge_flags(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    """(N, 4) bool for the N true cells of ``mask``: within ``margin`` cells of the top,
    bottom, left, right edge (sensors often leave the outermost rows and columns invalid)."""
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    return np.stack([rows < margin, rows >= h - margin, cols < margin, cols >= w - margin], axis=1)


class DepthLocalizer:
    """Finds the face in a depth map; see the module doc.

    >>> localizer = DepthLocalizer.from_face_model(load_face_model())
    >>> found = localizer.locate(frame.depth, frame.intrinsics)   # Localization | None
    """

    def __init__(self, template: FaceTemplate | None = None, config: DepthLocalizerConfig | None = None):
        self.template = template
        self.config = config or DepthLocalizerConfig()

    @classmethod
    def from_face_model(cls, model: FaceModel, config: DepthLocalizerConfig | None = None) -> DepthLocalizer:
        return cls(FaceTemplate.from_face_model(model), config)

    def locate(self, depth: np.ndarray, intrinsics: Intrinsics, prior_angle: float | None = None) -> Localization | None:
        """The face in ``depth`` ((H, W) metres, 0/NaN invalid, on the ``intrinsics`` grid).

        Args:
            prior_angle: the expected crop angle (radians), e.g. the tracked one; only used to
                pick the sign of the head's axis when no shoulders are in view (else upright).
        """
        c = self.config
        grid = DepthGrid.from_depth(depth, intrinsics, c.cells)
        person = segment_person(grid, c.segment)
        if person is None:
            return None
        xy = grid.xyz[person.mask][:, :2].astype(np.float64)
        angle, _ = body_up(xy, _edge_flags(person.mask), person.seed[person.mask], prior_angle, c.silhouette)
        head = head_region(xy, angle, c.silhouette)
        if np.count_nonzero(head.mask) < 20:
            return None
        if not self._crown_is_narrow(xy, angle, head.top):
            log.debug("depth localization: the top of the nearest surface is too wide for a head")
            return None
        z_head = grid.xyz[person.mask][head.mask, 2]
        front = float(np.percentile(z_head, 5))
        centre_xy = head.point_at(c.crown_to_centre_m)
        guess = np.array([centre_xy[0], centre_xy[1], front + c.surface_to_centre_m])
        centre, score, rotation = guess, 0.2, None
        if self.template is not None:
            fit = self._fit(grid, person.mask, head, angle, guess)
            if fit is not None and fit.inliers >= c.min_inliers and fit.relief_m >= c.min_relief_m:
                centre = fit.rotation @ self.template.centre + fit.translation
                angle = crop_angle_of_pose(intrinsics, fit.rotation, centre)
                score, rotation = fit.inliers, fit.rotation
            else:
                log.debug("depth localization: no face fits the nearest surface")
                return None
        if not centre[2] > 0.05:
            return None
        crop = crop_from_point(intrinsics, centre, c.extent_m, angle)
        return Localization(crop=crop, origin=Origin.DEPTH, score=float(score), centre_cam=centre, rotation=rotation)

    def _fit(self, grid: DepthGrid, mask: np.ndarray, head: HeadRegion, angle: float,
             guess: np.ndarray) -> RigidFit | None:
        """The face fit from the nose-tip candidates; from more (and the silhouette's guess)
        when those explain too little of the face."""
        c = self.config
        head_cells = np.zeros_like(mask)
        head_cells[mask] = head.mask

        def starts(cells: list[tuple[int, int]]) -> list[tuple[np.ndarray, float]]:
            return [(grid.xyz[cell].astype(np.float64), self._yaw_guess(grid.xyz[cell], head)) for cell in cells]

        noses = find_noses(grid, mask, head_cells, c.nose_candidates)
        fit = fit_face(self.template, grid, mask, angle, starts(noses), c.fit)
        if fit is None or fit.inliers < c.retry_below_inliers:
            more = find_noses(grid, mask, head_cells, c.nose_candidates, c.nose_candidates)[len(noses):]
            nose_guess = guess - np.array([0.0, 0.0, c.surface_to_centre_m])
            retry = fit_face(self.template, grid, mask, angle, starts(more) + [(nose_guess, 0.0)], c.fit)
            if retry is not None and (fit is None or retry.support > fit.support):
                fit = retry
        return fit

    def _yaw_guess(self, nose_cam: np.ndarray, head: HeadRegion) -> float:
        """Head yaw (radians) from the nose tip's offset across the head's axis: the nose lies
        ``nose_to_axis_m`` in front of the axis the head turns about."""
        up = up_vector(head.angle)
        across = float(np.asarray(nose_cam[:2], np.float64) @ np.array([-up[1], up[0]])) - head.axis_offset
        return math.asin(float(np.clip(across / self.config.nose_to_axis_m, -0.8, 0.8)))

    def _crown_is_narrow(self, xy: np.ndarray, angle: float, top: float) -> bool:
        up = up_vector(angle)
        crown = xy[xy @ up >= top - 0.1]
        if len(crown) < 5:
            return False
        lateral = crown @ np.array([-up[1], up[0]])
        low, high = np.percentile(lateral, [2, 98])
        return bool(high - low <= self.config.max_crown_width_m)
