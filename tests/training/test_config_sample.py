"""Configuration loading (and pinned defaults); collating samples of mixed sources."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
import torch

from training.config import (
    CONFIG_DIR,
    ConfigError,
    TrainConfig,
    config_hash,
    from_dict,
    load_config,
    save_config,
    to_dict,
)
from training.data.sample import Sample, collate


def test_shipped_configs_load() -> None:
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    assert names == ["lite", "lite-aligned", "lite-continue", "resnet50", "smoke"]
    for name in names:
        assert load_config(name).name == name
    lite = load_config("lite")
    assert (lite.network.backbone, lite.network.width, lite.crop.size) == ("mobilenet_v3_large", 0.75, 128)
    for name in ("lite-continue", "lite-aligned"):  # start from lite weights: same network and crop
        finetune = load_config(name)
        network = replace(finetune.network, frozen_batchnorm=False, aligned_vertices=0, trainable=())
        assert (network, finetune.crop) == (lite.network, lite.crop), name
    assert load_config("lite-aligned").network.aligned_vertices > 0
    resnet = load_config("resnet50")
    assert (resnet.network.backbone, resnet.crop.size, resnet.data.batch_size) == ("resnet50", 256, 20)


def test_defaults_are_pinned() -> None:
    config = TrainConfig()
    assert config.crop.to_dict()["metric_scale_m"] == 0.1
    assert (config.data.yaw_deg, config.data.pitch_deg, config.data.residual_roll_deg) == (60.0, 35.0, 20.0)
    assert config.data.distance_m == (0.25, 0.8)
    assert config.data.train_seed_limit == 1000
    assert config.evaluation.seeds[0] >= config.data.train_seed_limit
    assert config.export.tolerance == 1e-4 and config.export.max_total_mb == 60.0
    assert (config.schedule.rounds, config.optim.grad_clip) == (3, 5.0)


def test_yaml_round_trip_and_unknown_keys(tmp_path) -> None:
    config = load_config("smoke")
    save_config(config, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert again == config and config_hash(again) == config_hash(config)
    assert from_dict(TrainConfig, to_dict(config)) == config
    with pytest.raises(ConfigError, match="unknown keys"):
        from_dict(TrainConfig, {"network": {"backbone": "resnet18", "widht": 1.0}})
    with pytest.raises(ConfigError, match="expected an integer"):
        from_dict(TrainConfig, {"data": {"batch_size": "32"}})
    changed = dataclasses.replace(config, name="other")
    assert config_hash(changed) != config_hash(config)


def _sample(kind: str, rgb: bool, xyz: bool, landmarks: bool) -> Sample:
    size = 8
    return Sample(
        kind=kind, intrinsics=np.ones(4, np.float32), rgb_anchor=np.zeros(3, np.float32),
        rgb=np.zeros((3, size, size), np.float32) if rgb else None,
        xyz=np.ones((4, size, size), np.float32) if xyz else None,
        xyz_anchor=np.zeros(3, np.float32) if xyz else None,
        landmarks_2d=np.full((68, 2), 3.0, np.float32) if landmarks else None,
    )


def test_collate_mixes_sources_with_presence_masks() -> None:
    batch = collate([_sample("rgb", True, False, True), _sample("scan", False, True, False),
                     _sample("rgbd", True, True, True)])
    assert batch.kinds == ["rgb", "scan", "rgbd"] and len(batch) == 3
    assert batch.fields["rgb"].shape == (3, 3, 8, 8) and batch.fields["xyz"].shape == (3, 4, 8, 8)
    assert batch.has("rgb").tolist() == [True, False, True]
    assert batch.has("xyz").tolist() == [False, True, True]
    assert batch.has("landmarks_2d").tolist() == [True, False, True]
    assert batch.fields["xyz"][0].abs().sum() == 0  # a missing field is zero-filled
    assert batch.get("vertices") is None and not batch.has("vertices").any()
    assert isinstance(batch.to("cpu").fields["rgb"], torch.Tensor)
    with pytest.raises(ValueError, match="colour or XYZ"):
        _sample("rgb", False, False, False)
