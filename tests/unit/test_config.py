"""Configuration defaults are pinned, and round-trip through YAML and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, PipelineConfig, load_config, save_config, to_dict


def test_defaults_are_pinned() -> None:
    data = to_dict(PipelineConfig())
    assert data.pop("assets_dir").endswith("assets")
    assert data == {
        "mode": None, "refine": True, "threads": 0, "use_gpu": True,
        "smoothing": {
            "enabled": True,
            "rotation": {"min_cutoff": 3.0, "beta": 60.0, "d_cutoff": 1.0},
            "translation": {"min_cutoff": 3.0, "beta": 600.0, "d_cutoff": 1.0},
            "expression": {"min_cutoff": 4.0, "beta": 20.0, "d_cutoff": 1.0},
            "identity": {"min_cutoff": 0.3, "beta": 0.0, "d_cutoff": 1.0},
        },
    }


@pytest.mark.parametrize("name", ["config.yaml", "config.json"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    config = PipelineConfig(mode="depth", refine=False, threads=2)
    save_config(config, tmp_path / name)
    assert load_config(tmp_path / name) == config


def test_unknown_keys_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"refine": true, "speed": 11}')
    with pytest.raises(ConfigError, match=r"a.json: unknown keys \[.speed.\]"):
        load_config(tmp_path / "a.json")
    with pytest.raises(ConfigError, match="missing.yaml does not exist"):
        load_config(tmp_path / "missing.yaml")
