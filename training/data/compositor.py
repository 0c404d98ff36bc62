"""A compositor whose shoulders follow a camera rolled about its optical axis.

``models.synthetic.compositor.FaceCompositor`` hangs the torso upright in the camera frame
(turned by a quarter of the head's yaw), which is right for an upright camera. Training also
renders through rolled cameras (TrueDepth frames arrive rotated by 90 degrees; the crop angle
can be anything), where the body must roll with the camera, or it would hang across the face.

:meth:`RollingCompositor.render_rolled` renders with the parent's own ``render`` (so it keeps
every improvement made there) after turning the torso template so that the parent's upright
body rotation lands on the rolled one. It relies on the parent posing the torso as
``torso @ head_pose_to_camera(0.25 * yaw, 0, 0).T + neck``; a test renders a rolled and an
upright frame and checks the face stays uncovered. If ``FaceCompositor.render`` grows a
camera-roll argument, this subclass can go.
"""

from __future__ import annotations

import numpy as np

from models.crop import rotation_z
from models.geometry import camera_rotation_to_euler, head_pose_to_camera
from models.synthetic.compositor import Appearance, FaceCompositor, SyntheticImage
from models.synthetic.motion import FaceState

__all__ = ["RollingCompositor", "body_rotation"]


def body_rotation(head_rotation: np.ndarray, camera_roll: float = 0.0) -> np.ndarray:
    """Camera-from-torso rotation: upright in the unrolled camera, a quarter of the head's yaw,
    then rolled with the camera by ``camera_roll`` radians about the optical axis."""
    roll = rotation_z(camera_roll)
    yaw, _, _ = camera_rotation_to_euler(roll.T @ np.asarray(head_rotation, dtype=np.float64))
    return roll @ head_pose_to_camera(0.25 * yaw, 0.0, 0.0)


class RollingCompositor(FaceCompositor):
    """:class:`FaceCompositor` with :meth:`render_rolled` (see the module doc)."""

    def render_rolled(self, state: FaceState, appearance: Appearance, sh: np.ndarray, rng: np.random.Generator,
                      camera_roll: float) -> SyntheticImage:
        """One frame of ``state`` (camera frame) seen by a camera rolled by ``camera_roll``
        radians: as :meth:`FaceCompositor.render`, with the body turned by the roll."""
        upright = body_rotation(state.rotation)  # what the parent applies
        wanted = body_rotation(state.rotation, camera_roll)
        template = self._torso_vertices
        # parent: torso_cam = vertices @ upright.T + neck; make that torso @ wanted.T + neck
        self._torso_vertices = (template @ wanted.T @ upright).astype(template.dtype)
        try:
            return self.render(state, appearance, sh, rng)
        finally:
            self._torso_vertices = template
