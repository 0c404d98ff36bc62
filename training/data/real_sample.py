"""A :class:`~training.data.sample.Sample` from a real (or scan-rendered) frame and a crop.

The crop is applied with :func:`models.crop.prepare_inputs`, exactly as for synthetic samples
and in the app; the supervision a real frame has is carried into the crop frame. Everything a
real source cannot know (face-model parameters, pose, lighting, the ground-truth mesh) stays
``None``, so the objective's presence masks leave those terms out for these samples.
"""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics
from models.crop import CropRecipe, FaceCrop, prepare_inputs
from training.data.sample import Sample

__all__ = ["crop_sample"]


def crop_sample(
    kind: str,
    recipe: CropRecipe,
    intrinsics: Intrinsics,
    crop: FaceCrop,
    rgb: np.ndarray | None = None,
    depth: np.ndarray | None = None,
    landmarks_2d: np.ndarray | None = None,
    landmarks_3d: np.ndarray | None = None,
    scan_points: np.ndarray | None = None,
    colour_term: bool = True,
) -> Sample:
    """Crop a frame and its supervision into a :class:`Sample` of ``kind``.

    Args:
        kind: ``rgb``, ``rgbd`` or ``scan``.
        recipe: the crop recipe of the run.
        intrinsics: the source camera (both images lie on its grid).
        crop: where the face is (:mod:`training.data.face_crops`).
        rgb: (H, W, 3) uint8 sRGB, or None.
        depth: (H, W) float32 metres (0 or NaN invalid), or None.
        landmarks_2d: (68, 2) source pixels (Eq. 7), or None.
        landmarks_3d: (68, 3) metres in the source camera frame (Eq. 8), or None.
        scan_points: (P, 3) metres in the source camera frame, clean surface (Eq. 10), or None.
        colour_term: False leaves ``rgb_crop`` out (no colour term, Eq. 6), for colours that are
            not a photograph of the face (an untextured scan's made-up albedo).
    """
    inputs = prepare_inputs(recipe, intrinsics, crop, rgb=rgb, depth=depth)
    camera = inputs.camera
    k = camera.intrinsics
    return Sample(
        kind=kind,
        intrinsics=np.array([k.fx, k.fy, k.cx, k.cy], np.float32),
        rgb_anchor=inputs.rgb_anchor.astype(np.float32),
        rgb=inputs.rgb,
        rgb_crop=inputs.rgb_crop if colour_term else None,
        xyz=inputs.xyz,
        xyz_anchor=None if inputs.xyz_anchor is None else inputs.xyz_anchor.astype(np.float32),
        landmarks_2d=None if landmarks_2d is None else camera.source_to_crop_pixels(landmarks_2d).astype(np.float32),
        landmarks_3d=None if landmarks_3d is None else camera.points_to_crop(landmarks_3d).astype(np.float32),
        scan_points=None if scan_points is None else camera.points_to_crop(scan_points).astype(np.float32),
    )
