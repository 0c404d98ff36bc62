"""The project's coordinate conventions, worked out once.

Frames:

* **OpenCV camera** (inside the pipeline): x right, y down, z forward, metres.
* **GL camera** (exports' default space, the viewport's scene): x right, y up, z toward the
  viewer; the OpenGL, Alembic, glTF, Maya and Blender-import convention.
* **Head** (the face model's own frame, ICT-FaceKit): x to the subject's left, y up, z out of
  the face. A head pose maps head to camera: ``p_cam = R @ p_head + t``.

OpenCV -> GL is the proper rotation ``F = diag(1, -1, -1)`` (determinant +1: triangle winding
and handedness are kept). The same matrix is the camera-from-head rotation of a face looking
straight into an OpenCV camera, since the head frame is y up and z toward the viewer.

The **face centre** is the point crops are centred on and trackers follow: the centroid of the
face model's 68 landmarks on its template, in the head frame.
"""

from __future__ import annotations

import numpy as np

from models.face_model import FaceModel

__all__ = ["GL_FROM_OPENCV", "face_centre_in_head", "points_opencv_to_gl", "pose_opencv_to_gl",
           "rotation_opencv_to_gl"]

GL_FROM_OPENCV = np.diag([1.0, -1.0, -1.0])
GL_FROM_OPENCV.setflags(write=False)


def points_opencv_to_gl(points: np.ndarray) -> np.ndarray:
    """(..., 3) OpenCV camera-frame points -> the same points in the GL camera frame (a copy,
    dtype kept)."""
    out = np.array(points, copy=True)
    out[..., 1:] *= -1
    return out


def rotation_opencv_to_gl(rotation: np.ndarray) -> np.ndarray:
    """(3, 3) camera-from-X rotation with an OpenCV camera -> the same with a GL camera
    (``F @ R``; float64)."""
    out = np.array(rotation, dtype=np.float64, copy=True)
    out[1:] *= -1
    return out


def pose_opencv_to_gl(rotation: np.ndarray, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A camera-from-head pose ((3, 3), (3,) metres) from the OpenCV to the GL camera frame."""
    return rotation_opencv_to_gl(rotation), points_opencv_to_gl(np.asarray(translation, np.float64))


def face_centre_in_head(model: FaceModel) -> np.ndarray:
    """(3,) float64 head-frame face centre (metres): the centroid of the 68 template landmarks."""
    return model.template[model.landmark_indices].mean(axis=0).astype(np.float64)
