"""The one place that builds ONNX Runtime sessions.

CUDA is requested only when it can really load (onnxruntime-gpu installed, a CUDA device
present, and its libraries loadable); otherwise the CPU provider runs, without the loud error
ONNX Runtime logs when CUDA is asked for and missing (docs/FORMATS.md). The app's pipeline and
training's export, evaluation and diagnosis all get their sessions here, with the same options.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from models.errors import ModelError

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
ORT_LOG_ERRORS_ONLY = 3


@dataclass(frozen=True)
class SessionConfig:
    """threads: intra-op threads (0: one per core, at most 4); use_gpu: allow CUDA when present."""

    threads: int = 0
    use_gpu: bool = True


CPU_ONLY = SessionConfig(threads=2, use_gpu=False)  # training's checks: reproducible, on the CPU


def _cuda_device_count() -> int:
    """Number of CUDA devices the driver reports (0 without a driver), without importing torch."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    return 0


@functools.cache
def providers(use_gpu: bool = True) -> tuple[str, ...]:
    """The execution providers to ask for, best first; always ends with the CPU provider."""
    ort.set_default_logger_severity(ORT_LOG_ERRORS_ONLY)
    if use_gpu and CUDA in ort.get_available_providers() and _cuda_device_count() > 0:
        try:
            ort.preload_dlls()
            return (CUDA, CPU)
        except (OSError, RuntimeError) as exc:
            log.warning("CUDA is present but its libraries did not load (%s); using the CPU", exc)
    return (CPU,)


def default_threads() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def create_session(path: Path | bytes, config: SessionConfig = SessionConfig()) -> ort.InferenceSession:
    """An inference session for the ONNX file ``path``, or a serialized model (bytes).

    Raises :class:`ModelError` naming the file when it is missing, truncated or not ONNX.
    """
    name = "the serialized model" if isinstance(path, bytes) else str(path)
    if not isinstance(path, bytes):
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"network file {path} is missing")
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    # Idle pool threads sleep instead of spinning: the pipeline's numpy stages (refinement, mesh)
    # run right after each inference on the same cores, and spinning threads stole them (the mesh
    # stage measured 5 ms with spinning, under 1 ms without).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        model = path if isinstance(path, bytes) else str(path)
        return ort.InferenceSession(model, sess_options=options, providers=list(providers(config.use_gpu)))
    except Exception as exc:  # noqa: BLE001 (ONNX Runtime raises its own untyped errors)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"network {name} is not a readable ONNX model (truncated or corrupt?): {first_line}") from None
