"""Configuration of the pipeline as frozen dataclasses, loaded from and saved to YAML or JSON
through :mod:`models.config_files` (the same code training's configuration uses)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inference.smoothing import OneEuroConfig, SmoothingConfig
from models.config_files import ConfigError, from_dict, read_config_file, to_dict, write_config_file
from models.mode import Mode

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"

@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """How frames become faces.

    mode: the :class:`Mode` (a string such as ``rgbd`` is parsed), or None (the richest the
    frames offer); refine: Gauss-Newton refinement (the depth fit in depth modes, the
    landmark fit in RGB mode); smoothing: One Euro settings; assets_dir: where the
    ONNX branches and sidecars live; threads: ONNX Runtime intra-op threads (0: automatic);
    use_gpu: allow CUDA when onnxruntime-gpu finds a device.
    """

    mode: Mode | None = None
    refine: bool = True
    smoothing: SmoothingConfig = SmoothingConfig()
    assets_dir: Path = ASSETS_DIR
    threads: int = 0
    use_gpu: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.mode, str):
            object.__setattr__(self, "mode", Mode.parse(self.mode))


def load_config(path: Path) -> PipelineConfig:
    """A :class:`PipelineConfig` from a YAML or JSON file (:mod:`models.config_files`)."""
    return read_config_file(path, PipelineConfig)


def save_config(config: PipelineConfig, path: Path) -> None:
    write_config_file(config, path)


__all__ = ["ASSETS_DIR", "ConfigError", "OneEuroConfig", "PipelineConfig", "SmoothingConfig",
           "from_dict", "load_config", "save_config", "to_dict"]
