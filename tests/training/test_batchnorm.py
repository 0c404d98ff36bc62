"""BatchNorm recalibration: the exported (eval-mode) statistics become exact averages over the
calibration batches, the weights stay as they are, and nothing changes without batches."""

from __future__ import annotations

import torch
from torch import nn

from training.network.batchnorm import batchnorm_layers, recalibrate_batchnorm


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=0.01), nn.ReLU(),
                         nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2, momentum=0.01))


def _run(net: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return net(batch)


def test_running_statistics_become_the_average_over_the_batches() -> None:
    torch.manual_seed(0)
    net = _net()
    batches = [torch.randn(8, 3, 6, 6) * 3.0 + 5.0 for _ in range(4)]
    weights = [p.clone() for p in net.parameters()]
    # stale statistics, as a lagging momentum leaves them
    first = batchnorm_layers(net)[0]
    first.running_mean.fill_(-1.0)
    first.running_var.fill_(0.1)

    assert recalibrate_batchnorm(net, batches, _run) == 4

    with torch.no_grad():
        inputs = [net[0](b) for b in batches]  # what the first BatchNorm layer sees
    features = torch.cat(inputs)
    per_batch_mean = torch.stack([x.mean((0, 2, 3)) for x in inputs])
    torch.testing.assert_close(first.running_mean, per_batch_mean.mean(0), atol=1e-5, rtol=1e-5)
    assert torch.all(first.running_var > 0.5 * features.var((0, 2, 3)))
    assert first.momentum == 0.01 and not net.training
    for before, after in zip(weights, net.parameters(), strict=True):
        torch.testing.assert_close(before, after, atol=0, rtol=0)


def test_eval_mode_then_reproduces_training_mode_on_the_same_data() -> None:
    torch.manual_seed(1)
    net = _net()
    batch = torch.randn(64, 3, 6, 6) * 2.0 + 1.0
    with torch.no_grad():
        trained = net.train()(batch)  # normalised with the batch's own statistics
        stale = net.eval()(batch)
    assert not torch.allclose(stale, trained, atol=1e-2)
    recalibrate_batchnorm(net, [batch], _run)
    with torch.no_grad():
        exported = net(batch)
    torch.testing.assert_close(exported, trained, atol=2e-2, rtol=0)  # unbiased vs biased variance


def test_no_batches_leave_the_statistics_alone() -> None:
    net = _net()
    layer = batchnorm_layers(net)[0]
    layer.running_mean.fill_(0.25)
    assert recalibrate_batchnorm(net, [], _run) == 0
    torch.testing.assert_close(layer.running_mean, torch.full((4,), 0.25))
    assert layer.momentum == 0.01
