"""Rebuilding a trainable checkpoint from exported branches (training.warm_start)."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models.face_model import load_face_model
from runtime.onnx_session import SessionConfig, create_session
from training.checkpoint import load_checkpoint
from training.data.sample import collate
from training.data.sources import build_dataset
from training.loop import Trainer, train
from training.network.model import BRANCHES, BranchModule
from training.system import build_system, run_branches
from training.warm_start import (
    WarmStartError,
    _restore_batch_statistics,
    checkpoint_from_assets,
    load_branch_weights,
)

pytestmark = [pytest.mark.gl, pytest.mark.slow]

SHIPPED = Path(__file__).resolve().parents[2] / "assets"


def _batches(config, count: int, seed: int = 5):
    stream = iter(build_dataset(config.data, config.crop, seed=seed))
    return [collate(list(itertools.islice(stream, config.data.batch_size))) for _ in range(count)]


def _onnx_outputs(assets: Path, batch) -> dict[str, np.ndarray]:
    feeds = {"rgb": batch.get("rgb").numpy(), "xyz": batch.get("xyz").numpy(), "crop_camera": batch.crop_camera().numpy()}
    out = {}
    for branch in BRANCHES:
        session = create_session(assets / f"{branch}.onnx", SessionConfig(threads=1, use_gpu=False))
        out[branch] = session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})[0]
    return out


def test_imported_checkpoint_reproduces_the_exported_graphs(tmp_path, smoke_assets, tiny_config) -> None:
    path = checkpoint_from_assets(tiny_config, smoke_assets, tmp_path / "imported", batches=2)
    state = load_checkpoint(path)
    assert path.name == "step_00000000.pt" and state["step"] == 0
    assert max(state["import_parity"].values()) < 1e-4

    # a run started from it holds the weights, and its eval-mode branches compute what the graphs do
    trainer = Trainer(replace(tiny_config, run=replace(tiny_config.run, init_from=str(path))),
                      tmp_path / "continued", device="cpu")
    trainer.initialise_from(path)
    net = trainer.system.net.eval()
    batch = _batches(tiny_config, 1, seed=11)[0]
    expected = _onnx_outputs(smoke_assets, batch)
    inputs = {"rgb": batch.get("rgb"), "xyz": batch.get("xyz"), "crop_camera": batch.crop_camera()}
    for branch in BRANCHES:
        module = BranchModule(net, branch).eval()
        with torch.no_grad():
            got = module(*[inputs[name] for name in module.input_names()]).numpy()
        np.testing.assert_allclose(got, expected[branch], atol=1e-4, err_msg=branch)

    # the continued run trains from there (a step and a checkpoint)
    last = train(replace(tiny_config, run=replace(tiny_config.run, init_from=str(path))),
                 tmp_path / "continued", device="cpu", max_steps=1)
    assert load_checkpoint(last)["step"] == 1


def test_training_mode_matches_on_the_batch_the_statistics_came_from(smoke_assets, tiny_config) -> None:
    """Step 3: each BatchNorm gets its input's statistics, so a training-mode pass over that very
    batch normalises by exactly them and computes what the exported graphs compute."""
    system = build_system(tiny_config, load_face_model())
    net = system.net.to(memory_format=torch.contiguous_format)
    norms = load_branch_weights(net, smoke_assets, tiny_config.crop.size)
    assert norms and all(torch.all(n.weight == 1.0) for n in norms)  # folded: "add b'"
    batch = _batches(tiny_config, 1, seed=13)[0]
    expected = _onnx_outputs(smoke_assets, batch)
    _restore_batch_statistics(net, norms, [batch], run_branches)
    assert not all(torch.all(n.weight == 1.0) for n in norms)
    net.train()
    with torch.no_grad():
        got = {name: params for name, (params, _) in run_branches(net, batch).items()}
    for branch in BRANCHES:
        np.testing.assert_allclose(got[branch].numpy(), expected[branch], atol=1e-3, err_msg=branch)


def test_graphs_of_another_architecture_are_refused(tmp_path, smoke_assets, tiny_config) -> None:
    with pytest.raises(WarmStartError, match="another architecture"):
        checkpoint_from_assets(tiny_config, SHIPPED, tmp_path / "lite-into-smoke", batches=1)
    wider = replace(tiny_config, network=replace(tiny_config.network, head_hidden=tiny_config.network.head_hidden * 2))
    with pytest.raises(WarmStartError, match="another architecture"):
        checkpoint_from_assets(wider, smoke_assets, tmp_path / "wider", batches=1)
    with pytest.raises(FileNotFoundError, match="rgb.onnx"):
        checkpoint_from_assets(tiny_config, tmp_path / "empty", tmp_path / "none", batches=1)
    truncated = tmp_path / "truncated"
    shutil.copytree(smoke_assets, truncated)
    (truncated / "depth.onnx").write_bytes((smoke_assets / "depth.onnx").read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"depth\.onnx is not a readable ONNX model"):
        checkpoint_from_assets(tiny_config, truncated, tmp_path / "none", batches=1)
    assert not (tmp_path / "lite-into-smoke").exists() and not (tmp_path / "none").exists()
