"""Inference: ONNX Runtime branches, face localization, mesh decoding, refinement, smoothing."""
