"""The shape decoder starts as the linear model; the network's branches, outputs and sharing."""

from __future__ import annotations

import numpy as np
import torch

from training.config import NetworkConfig
from training.decoder import FACE, NARROW, CorrectiveModule, ShapeDecoder
from training.network.backbones import BACKBONES, build_backbone
from training.network.layout import OutputLayout, split_params
from training.network.model import BranchModule, ThreeBranchNet
from training.network.rotation import matrix_to_six_d, six_d_to_matrix


def test_decoder_starts_equal_to_the_linear_model(face_model) -> None:
    decoder = ShapeDecoder(face_model, rank=8, hidden=16)
    rng = np.random.default_rng(0)
    identity = rng.standard_normal((2, 100)).astype(np.float32)
    expression = rng.uniform(0, 1, (2, 53)).astype(np.float32)
    for region, count in (("narrow_face", NARROW), ("face", FACE)):
        out = decoder(torch.from_numpy(identity), torch.from_numpy(expression), count).detach().numpy()
        for b in range(2):
            np.testing.assert_allclose(out[b], face_model.vertices(identity[b], expression[b], region), atol=2e-6)
    corrective = CorrectiveModule(decoder)(torch.from_numpy(identity), torch.from_numpy(expression))
    assert corrective.shape == (2, FACE, 3) and torch.count_nonzero(corrective) == 0


def test_decoder_corrective_learns_from_the_first_step(face_model) -> None:
    decoder = ShapeDecoder(face_model, rank=4, hidden=8)
    identity, expression = torch.randn(3, 100), torch.rand(3, 53)
    decoder(identity, expression).square().sum().backward()
    assert decoder.basis.grad is not None and decoder.basis.grad.abs().sum() > 0
    assert sum(p.numel() for p in decoder.parameters()) < 400_000  # compact: no dense 28k-output layer


def test_six_d_rotations_are_proper() -> None:
    matrices = six_d_to_matrix(torch.randn(16, 6))
    identity = matrices @ matrices.transpose(1, 2)
    torch.testing.assert_close(identity, torch.eye(3).expand(16, 3, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(matrices), torch.ones(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(six_d_to_matrix(matrix_to_six_d(matrices)), matrices, atol=1e-5, rtol=0)


def test_three_branches_share_the_early_layers_and_output_the_layout() -> None:
    torch.manual_seed(0)
    layout = OutputLayout()
    net = ThreeBranchNet(NetworkConfig(backbone="mobilenet_v3_small", width=0.5, head_hidden=32), layout).eval()
    rgb, xyz = torch.randn(2, 3, 64, 64), torch.randn(2, 4, 64, 64)
    out = net(rgb, xyz)
    assert set(out) == {"rgb", "depth", "rgbd"}
    for params in out.values():
        assert params.shape == (2, layout.total()) == (2, 202)
        parts = split_params(layout, params)
        assert parts["expression"].min() >= 0 and parts["expression"].max() <= 1
        torch.testing.assert_close(torch.linalg.det(parts["rotation"]), torch.ones(2), atol=1e-5, rtol=0)
    # The RGB-D branch runs the very modules of the single branches (Fig. 2's weight sharing).
    torch.testing.assert_close(BranchModule(net, "rgbd")(rgb, xyz), out["rgbd"])
    with torch.no_grad():
        net.rgb_early[0][0].weight.add_(0.5)
    assert not torch.allclose(net(rgb, xyz, ("rgbd",))["rgbd"], out["rgbd"])
    assert not torch.allclose(net(rgb, xyz, ("rgb",))["rgb"], out["rgb"])
    torch.testing.assert_close(net(rgb, xyz, ("depth",))["depth"], out["depth"])


def test_every_backbone_splits_at_stride_8() -> None:
    for name in BACKBONES:
        if name in ("resnet50", "resnet34", "regnet_y_400mf"):
            continue  # same code paths as resnet18 and regnet_x_400mf, slower to build
        split = build_backbone(name, 4, 1.0)
        mid = split.early.eval()(torch.zeros(1, 4, 64, 64))
        assert mid.shape[1:] == (split.mid_channels, 8, 8), name
        assert split.late.eval()(mid).shape == (1, split.out_channels), name
