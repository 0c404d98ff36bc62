"""Rebuild a trainable checkpoint from exported branches, so a run can continue shipped weights.

Run folders do not survive between our CPU sessions, but ``assets/`` does. The exported graphs
hold every weight of the network, with each BatchNorm folded into the convolution before it
(``W' = W g / s``, ``b' = b_bn - g m / s``). :func:`checkpoint_from_assets` puts them back:

1. Every convolution and linear layer of each branch is matched, in call order, to the ONNX
   ``Conv`` / ``Gemm`` node in graph order (the exporter traces in call order; kinds and
   shapes are checked). Each module comes from the first branch that runs it: the RGB branch
   gives ``rgb_early``, ``rgb_late`` and its head, the depth branch ``xyz_early``, ``xyz_late``
   and its head, the RGB-D branch its fusion layer, ``rgbd_late`` and head.
2. A folded convolution takes ``W'`` and its BatchNorm first becomes "add ``b'``" (mean 0,
   variance 1 - eps, scale 1), which reproduces the graph exactly in eval mode.
3. Training normalises with batch statistics, though, so each BatchNorm is then given the mean
   ``m`` and variance ``v`` its input has over a few batches of the run's own data, with scale
   ``sqrt(v + eps)`` and shift ``m + b'``: eval mode is still exact, and in training mode the
   layer computes ``W'x + b'`` up to the batch's departure from those statistics.
4. The eval-mode network is compared with ONNX Runtime on a batch of that data; a difference
   above the tolerance fails the import (a mismatched architecture cannot pass unnoticed).

The decoder corrective is not imported: it starts zero-initialised, as in a fresh run.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from models.face_model import load_face_model
from runtime.onnx_session import SessionConfig, create_session
from training.checkpoint import save_checkpoint
from training.config import TrainConfig, config_hash, to_dict
from training.data.sample import Batch, collate
from training.data.sources import build_dataset
from training.network.aligned import typical_crop_camera
from training.network.model import BRANCHES, BranchModule, ThreeBranchNet
from training.onnx_io import load_onnx, max_abs_difference
from training.system import TrainSystem, build_system, run_branches

__all__ = ["WarmStartError", "checkpoint_from_assets", "load_branch_weights"]

log = logging.getLogger(__name__)

# Modules each branch file supplies (the others it holds are shared and come from an earlier one).
_OWNED = {"rgb": ("rgb_early.", "rgb_late.", "heads.rgb."),
          "depth": ("xyz_early.", "xyz_late.", "heads.depth.", "aligned.depth."),
          "rgbd": ("rgbd_fuse.", "rgbd_late.", "heads.rgbd.", "aligned.rgbd.")}
_ONNX_LAYERS = {"Conv": nn.Conv2d, "Gemm": nn.Linear}
# Eval-mode torch vs ONNX Runtime on the same weights: float32 rounding only.
PARITY_TOLERANCE = 1e-3
_SEED_OFFSET = 104_729  # statistics batches: a data stream neither training nor export uses


class WarmStartError(RuntimeError):
    """The exported graphs do not fit this configuration's network."""


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """name -> float32 array of every weight, seen through the float16 storage's Cast nodes."""
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return {name: np.asarray(value, dtype=np.float32) for name, value in values.items()}


def _onnx_layers(path: Path) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(op type, weight, bias or None) of every Conv and Gemm node, in graph order."""
    model = load_onnx(path)
    values = _initializers(model)
    layers = []
    for node in model.graph.node:
        if node.op_type not in _ONNX_LAYERS:
            continue
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB", 0) != 1 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise WarmStartError(f"{path.name}: Gemm {node.name} is not a plain linear layer")
        try:
            weight = values[node.input[1]]
            bias = values[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        except KeyError as error:
            raise WarmStartError(f"{path.name}: {node.name} has a computed weight {error}") from error
        layers.append((node.op_type, weight, bias))
    return layers


def _called_layers(module: nn.Module, inputs: list[torch.Tensor]) -> list[nn.Module]:
    """Convolutions and linear layers of ``module`` in the order a forward pass calls them."""
    order: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, _i, _o: order.append(m))
             for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return order


def _folded_batchnorms(net: ThreeBranchNet) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    """Each bias-free convolution -> the BatchNorm that follows it in its Sequential."""
    pairs: dict[nn.Conv2d, nn.BatchNorm2d] = {}
    for parent in net.modules():
        if isinstance(parent, nn.Sequential):
            children = list(parent)
            for first, second in itertools.pairwise(children):
                if isinstance(first, nn.Conv2d) and isinstance(second, nn.BatchNorm2d):
                    pairs[first] = second
    return pairs


@torch.no_grad()
def load_branch_weights(net: ThreeBranchNet, assets: Path, size: int) -> list[nn.BatchNorm2d]:
    """Copy the weights of ``assets``/{rgb,depth,rgbd}.onnx into ``net`` (steps 1-2 of the module
    doc); returns the BatchNorm layers now holding folded shifts (eval mode reproduces the graphs).

    ``size``: the crop side in pixels the graphs take."""
    names = {module: name for name, module in net.named_modules()}
    folded = _folded_batchnorms(net)
    done: list[nn.BatchNorm2d] = []
    example = {"rgb": torch.zeros(1, 3, size, size), "xyz": torch.zeros(1, 4, size, size),
               "crop_camera": typical_crop_camera(size, 1)}
    for branch in BRANCHES:
        path = assets / f"{branch}.onnx"
        module = BranchModule(net, branch).eval()
        called = _called_layers(module, [example[name] for name in module.input_names()])
        layers = _onnx_layers(path)
        if len(called) != len(layers):
            raise WarmStartError(f"{path.name} has {len(layers)} convolution/linear layers, this network's "
                                 f"{branch} branch {len(called)}: another architecture")
        for layer, (op, weight, bias) in zip(called, layers, strict=True):
            name = names[layer]
            if not isinstance(layer, _ONNX_LAYERS[op]) or tuple(layer.weight.shape) != weight.shape:
                raise WarmStartError(f"{path.name}: {op} {weight.shape} does not fit {name} "
                                     f"({type(layer).__name__} {tuple(layer.weight.shape)}): another architecture")
            if not name.startswith(_OWNED[branch]):
                continue
            layer.weight.copy_(torch.tensor(weight))
            norm = folded.get(layer) if layer.bias is None else None
            if layer.bias is not None:
                if bias is None:
                    raise WarmStartError(f"{path.name}: {name} has a bias, the graph's layer none")
                layer.bias.copy_(torch.tensor(bias))
            elif norm is not None:
                shift = torch.zeros(weight.shape[0]) if bias is None else torch.tensor(bias)
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - norm.eps)
                norm.weight.fill_(1.0)
                norm.bias.copy_(shift)
                done.append(norm)
            elif bias is not None:
                raise WarmStartError(f"{path.name}: {name} has neither bias nor BatchNorm for the graph's bias")
    return done


@torch.no_grad()
def _restore_batch_statistics(net: ThreeBranchNet, norms: list[nn.BatchNorm2d], batches: list[Batch],
                              forward) -> None:
    """Step 3 of the module doc: give each folded BatchNorm its input's statistics over ``batches``."""
    sums: dict[nn.BatchNorm2d, list[torch.Tensor]] = {norm: [] for norm in norms}

    def record(norm, inputs):
        x = inputs[0].float()
        sums[norm].append(torch.stack([x.mean((0, 2, 3)), (x * x).mean((0, 2, 3))]))

    hooks = [norm.register_forward_pre_hook(record) for norm in norms]
    net.eval()
    try:
        for batch in batches:
            forward(net, batch)
    finally:
        for hook in hooks:
            hook.remove()
    for norm in norms:
        if not sums[norm]:
            raise WarmStartError("a BatchNorm layer saw no data while its statistics were measured")
        first, second = torch.stack(sums[norm]).mean(0)
        mean, var = first, (second - first * first).clamp_min(0.0)
        shift = norm.bias.clone()
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        norm.weight.copy_(torch.sqrt(var + norm.eps))
        norm.bias.copy_(mean + shift)


def _parity(net: ThreeBranchNet, assets: Path, batch: Batch) -> dict[str, float]:
    """branch -> max abs difference between the eval-mode network and ONNX Runtime on ``batch``."""
    net.eval()
    rgb, xyz = batch.get("rgb"), batch.get("xyz")
    differences = {}
    for branch in BRANCHES:
        module = BranchModule(net, branch).eval()
        inputs = {"rgb": rgb, "xyz": xyz, "crop_camera": batch.crop_camera()}
        names = module.input_names()
        with torch.no_grad():
            expected = module(*[inputs[name] for name in names]).numpy()
        got = create_session(assets / f"{branch}.onnx", SessionConfig(threads=1, use_gpu=False)).run(
            None, {name: inputs[name].numpy() for name in names})[0]
        differences[branch] = max_abs_difference(got, expected)
    return differences


def checkpoint_from_assets(config: TrainConfig, assets: Path, out_dir: Path, batches: int = 4,
                           tolerance: float = PARITY_TOLERANCE) -> Path:
    """Write ``out_dir``/checkpoints/step_00000000.pt holding ``assets``' branch weights in
    ``config``'s network (a zero-initialised decoder corrective), for ``train --init-from``.

    ``batches``: batches of the config's data the BatchNorm statistics are measured on.
    Raises :class:`WarmStartError` when the graphs do not fit the network or disagree with it.
    """
    system: TrainSystem = build_system(config, load_face_model())
    net = system.net.to(memory_format=torch.contiguous_format)
    norms = load_branch_weights(net, Path(assets), config.crop.size)
    stream: Iterator[Any] = iter(build_dataset(config.data, config.crop, seed=config.run.seed + _SEED_OFFSET))
    size = config.data.batch_size
    data = [collate(list(itertools.islice(stream, size))) for _ in range(batches + 1)]
    check = data.pop()
    _restore_batch_statistics(net, norms, data, run_branches)
    after = _parity(net, Path(assets), check)
    log.info("imported %s: eval-mode difference from ONNX Runtime %s", assets, _format(after))
    worst = max(after.values())
    if not worst <= tolerance:
        raise WarmStartError(f"the imported network differs from {assets}'s graphs by {worst:.3g} "
                             f"(tolerance {tolerance:g}): another architecture or crop size")
    net.to(memory_format=torch.channels_last)
    state = {"config": to_dict(config), "config_hash": config_hash(config), "step": 0,
             "net": system.net.state_dict(), "decoder": system.decoder.state_dict(),
             "imported_from": str(assets), "import_parity": after}
    return save_checkpoint(Path(out_dir), 0, state, keep=1)


def _format(differences: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2g}" for name, value in differences.items())
