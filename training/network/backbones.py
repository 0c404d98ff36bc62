"""torchvision backbones cut in two where the paper cuts ResNet-50 for the RGB-D branch.

The paper's RGB-D branch runs "the first 22 layers" of the RGB and the XYZ ResNet-50 (stem,
``layer1`` and ``layer2``: 1 + 9 + 12 convolutions, output stride 8), concatenates the two
feature maps and runs the remaining layers. Every backbone here is cut at the same place, the
end of its stride-8 stage:

* ``early``: (B, C_in, S, S) -> (B, C_mid, S/8, S/8) feature map;
* ``late``: (B, C_mid, S/8, S/8) -> (B, C_out) pooled feature vector.

No pretrained weights are used (nothing is downloaded); the first convolution is rebuilt for
the input's channel count (3 for RGB, 4 for XYZ + validity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

__all__ = ["BACKBONES", "SplitBackbone", "build_backbone"]


@dataclass
class SplitBackbone:
    """The two halves of a backbone and their channel counts."""

    early: nn.Module
    late: nn.Module
    mid_channels: int
    out_channels: int


def _replace_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                     bias=conv.bias is not None)


def _pooled(*modules: nn.Module) -> nn.Sequential:
    return nn.Sequential(*modules, nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


def _resnet(builder: Callable[..., torchvision.models.ResNet]) -> Callable[[int, float], SplitBackbone]:
    def build(in_channels: int, width: float) -> SplitBackbone:
        if width != 1.0:
            raise ValueError("ResNets have no width multiplier here; use width: 1.0")
        net = builder(weights=None)
        net.conv1 = _replace_conv(net.conv1, in_channels)
        early = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2)
        with torch.no_grad():
            mid = early.eval()(torch.zeros(1, in_channels, 64, 64)).shape[1]
        early.train()
        out = net.fc.in_features
        return SplitBackbone(early, _pooled(net.layer3, net.layer4), mid, out)

    return build


def _mobilenet(builder: Callable[..., nn.Module], split: int) -> Callable[[int, float], SplitBackbone]:
    def build(in_channels: int, width: float) -> SplitBackbone:
        net = builder(weights=None, width_mult=width)
        first = net.features[0][0]
        net.features[0][0] = _replace_conv(first, in_channels)
        early = nn.Sequential(*net.features[:split])
        late_layers = list(net.features[split:])
        with torch.no_grad():
            probe = early.eval()(torch.zeros(1, in_channels, 64, 64))
            mid = probe.shape[1]
            out = nn.Sequential(*late_layers).eval()(probe).shape[1]
        early.train()
        for layer in late_layers:
            layer.train()
        return SplitBackbone(early, _pooled(*late_layers), mid, out)

    return build


def _regnet(builder: Callable[..., nn.Module]) -> Callable[[int, float], SplitBackbone]:
    def build(in_channels: int, width: float) -> SplitBackbone:
        if width != 1.0:
            raise ValueError("RegNets have no width multiplier here; use width: 1.0")
        net = builder(weights=None)
        net.stem[0] = _replace_conv(net.stem[0], in_channels)
        trunk = net.trunk_output
        early = nn.Sequential(net.stem, trunk.block1, trunk.block2)
        with torch.no_grad():
            mid = early.eval()(torch.zeros(1, in_channels, 64, 64)).shape[1]
        early.train()
        return SplitBackbone(early, _pooled(trunk.block3, trunk.block4), mid, net.fc.in_features)

    return build


BACKBONES: dict[str, Callable[[int, float], SplitBackbone]] = {
    "resnet18": _resnet(torchvision.models.resnet18),
    "resnet34": _resnet(torchvision.models.resnet34),
    "resnet50": _resnet(torchvision.models.resnet50),
    "mobilenet_v3_small": _mobilenet(torchvision.models.mobilenet_v3_small, split=4),
    "mobilenet_v3_large": _mobilenet(torchvision.models.mobilenet_v3_large, split=7),
    "regnet_x_400mf": _regnet(torchvision.models.regnet_x_400mf),
    "regnet_y_400mf": _regnet(torchvision.models.regnet_y_400mf),
}


def build_backbone(name: str, in_channels: int, width: float = 1.0) -> SplitBackbone:
    """A freshly initialised :class:`SplitBackbone` for ``in_channels`` input channels."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[name](in_channels, width)
