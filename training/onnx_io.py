"""Writing modules to ONNX and running them with ONNX Runtime (export, evaluation, timing)."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

__all__ = ["export_module", "max_abs_difference", "ort_session", "time_session"]

log = logging.getLogger(__name__)


def export_module(
    module: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    opset: int = 17,
) -> Path:
    """Write ``module`` (in eval mode) to a self-contained ONNX file with a dynamic batch axis.

    Uses the TorchScript-based exporter (a single file, weights inline, stable across torch
    releases); the module must be traceable with ``inputs``.
    """
    module = module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dynamic_axes = {name: {0: "batch"} for name in (*input_names, *output_names)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer chatter
        torch.onnx.export(
            module, tuple(inputs), str(path), input_names=list(input_names), output_names=list(output_names),
            opset_version=opset, dynamic_axes=dynamic_axes, dynamo=False, do_constant_folding=True,
        )
    return path


def ort_session(path: Path | str, threads: int = 2, providers: Sequence[str] = ("CPUExecutionProvider",)
                ) -> ort.InferenceSession:
    """An ONNX Runtime session with ``threads`` intra-op threads and full graph optimisation."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=list(providers))


def time_session(session: ort.InferenceSession, feeds: dict[str, np.ndarray], runs: int = 50,
                 warmup: int = 5) -> dict[str, float]:
    """Latency of ``session.run`` in milliseconds: median, 10th and 90th percentile."""
    for _ in range(warmup):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1000.0)
    t = np.asarray(times)
    return {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
            "p90_ms": float(np.percentile(t, 90))}


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
