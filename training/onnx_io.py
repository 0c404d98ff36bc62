"""Writing modules to ONNX, reading them back, and timing ONNX Runtime sessions (sessions
themselves come from :func:`runtime.onnx_session.create_session`, as in the app)."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

__all__ = ["export_module", "load_onnx", "max_abs_difference", "store_weights_as_float16", "time_session"]

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


def load_onnx(path: Path) -> onnx.ModelProto:
    """The ONNX model in ``path``; a missing file is FileNotFoundError, an unreadable one
    (truncated, corrupt, not ONNX) ValueError naming the file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no {path}")
    try:
        return onnx.load(str(path))
    except DecodeError as error:
        raise ValueError(f"{path} is not a readable ONNX model (truncated or corrupt: {error})") from error


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def store_weights_as_float16(path: Path, min_elements: int = 64, keep_float32: Collection[str] = ()
                             ) -> tuple[int, int]:
    """Rewrite the ONNX file ``path`` so that its float32 weights are stored as float16.

    Each float32 initializer with at least ``min_elements`` values, except those named in
    ``keep_float32`` (constants that are not trained weights, e.g. face-model geometry), is replaced by a float16
    copy and a ``Cast`` back to float32 placed first in the graph; ONNX Runtime folds these
    casts when it loads the graph (constant folding), so inference still runs in float32 on
    weights rounded to float16 (relative rounding at most 2^-11). The file is about half the
    size: what matters for weights kept in the repository's history.

    Returns: the file's size in bytes before and after.
    """
    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    kept, halves, casts = [], [], []
    for initializer in graph.initializer:
        count = int(np.prod(initializer.dims)) if initializer.dims else 1
        if initializer.data_type != TensorProto.FLOAT or count < min_elements or initializer.name in keep_float32:
            kept.append(initializer)
            continue
        half_name = f"{initializer.name}__float16"
        halves.append(numpy_helper.from_array(numpy_helper.to_array(initializer).astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [initializer.name], to=TensorProto.FLOAT,
                                      name=f"{initializer.name}__to_float32"))
    nodes = list(graph.node)
    graph.ClearField("initializer")
    graph.initializer.extend(kept + halves)
    graph.ClearField("node")
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    tmp = path.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(path)
    return before, path.stat().st_size
