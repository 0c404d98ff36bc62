"""Configuration of the pipeline as frozen dataclasses, loaded from and saved to YAML/JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml

from inference.smoothing import OneEuroConfig, SmoothingConfig
from models.errors import FaceFromXError

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"

T = TypeVar("T")


class ConfigError(FaceFromXError):
    """A configuration file is unreadable or has unknown keys."""


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """How frames become faces.

    mode: ``rgb``, ``depth``, ``rgbd`` or None (the source's richest); refine: Gauss-Newton
    depth refinement in depth modes; smoothing: One Euro settings; assets_dir: where the
    ONNX branches and sidecars live; threads: ONNX Runtime intra-op threads (0: automatic);
    use_gpu: allow CUDA when onnxruntime-gpu finds a device.
    """

    mode: str | None = None
    refine: bool = True
    smoothing: SmoothingConfig = SmoothingConfig()
    assets_dir: Path = ASSETS_DIR
    threads: int = 0
    use_gpu: bool = True


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a (nested) config dataclass."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, Path):
            value = str(value)
        out[f.name] = value
    return out


def from_dict(kind: type[T], data: dict[str, Any]) -> T:
    """Build a (nested) config dataclass from a dict; unknown keys are a :class:`ConfigError`."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"unknown {kind.__name__} settings: {', '.join(sorted(unknown))}")
    values = {}
    defaults = kind()
    for name, value in data.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = from_dict(type(default), value)
        elif isinstance(default, Path):
            value = Path(value)
        values[name] = value
    return kind(**values)


def load_config(path: Path, kind: type[T] = PipelineConfig) -> T:
    """Read a YAML (``.yaml``/``.yml``) or JSON file into ``kind``."""
    try:
        text = Path(path).read_text()
        data = yaml.safe_load(text) if Path(path).suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc}") from None
    return from_dict(kind, data or {})


def save_config(config: Any, path: Path) -> None:
    data = to_dict(config)
    text = yaml.safe_dump(data, sort_keys=False) if Path(path).suffix in (".yaml", ".yml") else json.dumps(data, indent=2)
    Path(path).write_text(text)


__all__ = ["ASSETS_DIR", "ConfigError", "OneEuroConfig", "PipelineConfig", "SmoothingConfig",
           "from_dict", "load_config", "save_config", "to_dict"]
