"""Qt-free domain of FaceFromX: frames, cameras, the face model, rendering and sensor simulation.

Conventions used throughout the package:

* lengths in metres, times in seconds, angles in radians unless a name says otherwise;
* the camera frame is OpenCV's: x right, y down, z forward (away from the camera);
* the head (face-model) frame is ICT-FaceKit's: x toward the subject's left, y up, z out of
  the face; a head pose ``(rotation, translation)`` maps head points into the camera frame
  as ``p_cam = rotation @ p_head + translation``.
"""
