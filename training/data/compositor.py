"""A compositor whose shoulders follow a camera rolled about its optical axis.

``models.synthetic.compositor.FaceCompositor`` hangs the torso upright in the camera frame,
which is right for an upright camera. Training also renders through rolled cameras (TrueDepth
frames arrive rotated by 90 degrees; the crop angle can be anything), where the body must roll
with the camera, or it would hang across the face. :class:`RollingCompositor` renders exactly
like the parent (same meshes, colours, shading, grain) with the body turned by the camera roll.
It reuses the parent's helpers; if ``FaceCompositor.render`` grows a camera-roll argument this
subclass can go.
"""

from __future__ import annotations

import numpy as np

from models.crop import rotation_z
from models.frame import GroundTruth
from models.geometry import camera_rotation_to_euler, head_pose_to_camera
from models.render.color import to_srgb_uint8
from models.sensor import fast_standard_normal, simulate_truedepth
from models.synthetic.compositor import IMAGE_NOISE_LEVELS, Appearance, FaceCompositor, SyntheticImage
from models.synthetic.motion import FaceState
from models.synthetic.scene import NECK_BASE_IN_HEAD

__all__ = ["RollingCompositor"]


class RollingCompositor(FaceCompositor):
    """:class:`FaceCompositor` with :meth:`render_rolled` (see the module doc)."""

    def render_rolled(self, state: FaceState, appearance: Appearance, sh: np.ndarray, rng: np.random.Generator,
                      camera_roll: float) -> SyntheticImage:
        """One frame of ``state`` (camera frame) seen by a camera rolled by ``camera_roll``
        radians: the body is turned by ``R_z(camera_roll)`` in the camera frame (the head's
        yaw in the unrolled frame still turns it by a quarter)."""
        roll = rotation_z(camera_roll)
        head = self._head_shape(state.identity) + np.tensordot(
            state.expression, self.model.expression_basis[:, : self._num_visible], axes=1)
        head_cam = head @ state.rotation.T + state.translation
        yaw, _, _ = camera_rotation_to_euler(roll.T @ state.rotation)
        body_rotation = roll @ head_pose_to_camera(0.25 * yaw, 0.0, 0.0)
        neck = state.rotation @ NECK_BASE_IN_HEAD + state.translation
        torso_cam = self._torso_vertices @ body_rotation.T + neck
        vertices = np.concatenate([head_cam, torso_cam]).astype(np.float32)
        result = self.renderer.render(vertices, self._triangles, self.intrinsics, self._colors(appearance), sh=sh,
                                      outputs=("rgb", "depth", "triangle_id"))
        covered = result.triangle_id >= 0
        rgb = appearance.backdrop.image.copy()
        rgb[covered] = to_srgb_uint8(result.rgb[covered][None])[0]
        grain = fast_standard_normal(rng, rgb.shape) * IMAGE_NOISE_LEVELS
        rgb = np.clip(rgb + grain, 0, 255).astype(np.uint8)
        depth = np.where(covered, result.depth, appearance.backdrop.depth).astype(np.float32)
        if self.noise is not None:
            depth = simulate_truedepth(depth, self.intrinsics, rng, self.noise)
        face_mask = self._is_face_triangle[result.triangle_id]
        face = head_cam[: self._num_face].astype(np.float32)
        truth = GroundTruth(
            rotation=state.rotation, translation=state.translation, identity=state.identity,
            expression=state.expression, vertices=face,
            landmarks_2d=self.intrinsics.project(face[self.model.landmark_indices]).astype(np.float32),
        )
        return SyntheticImage(rgb, depth, face_mask, truth)
