"""Backbone candidates timed the way the app runs them: each exported branch through ONNX Runtime.

``python -m training benchmark`` prints, per (backbone, width, input size): the parameters of
each exported file (MB of float32 weights), the median (and 10th-90th percentile) latency
of one frame per branch with ONNX Runtime on ``threads`` CPU threads, and optionally the
PyTorch training throughput of all three branches together (forward + backward).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from runtime.onnx_session import SessionConfig, create_session
from training.config import NetworkConfig
from training.network.layout import OutputLayout
from training.network.model import BRANCHES, BranchModule, ThreeBranchNet
from training.onnx_io import export_module, time_session

__all__ = ["CANDIDATES", "BenchmarkRow", "benchmark", "format_table"]

log = logging.getLogger(__name__)

# (backbone, width multiplier, input size)
CANDIDATES: tuple[tuple[str, float, int], ...] = (
    ("mobilenet_v3_small", 1.0, 128),
    ("mobilenet_v3_small", 1.0, 160),
    ("mobilenet_v3_large", 0.75, 128),
    ("mobilenet_v3_large", 1.0, 112),
    ("mobilenet_v3_large", 1.0, 128),
    ("mobilenet_v3_large", 1.0, 160),
    ("regnet_x_400mf", 1.0, 128),
    ("resnet18", 1.0, 96),
    ("resnet18", 1.0, 128),
    ("resnet18", 1.0, 160),
)


@dataclass
class BenchmarkRow:
    backbone: str
    width: float
    size: int
    megabytes: dict[str, float]  # per branch file
    latency: dict[str, dict[str, float]]  # per branch: median_ms, p10_ms, p90_ms
    train_samples_per_s: float | None = None

    @property
    def worst_median_ms(self) -> float:
        return max(v["median_ms"] for v in self.latency.values())

    @property
    def total_megabytes(self) -> float:
        return sum(self.megabytes.values())


def _inputs(branch: str, size: int) -> tuple[torch.Tensor, ...]:
    rgb, xyz = torch.randn(1, 3, size, size), torch.randn(1, 4, size, size)
    return {"rgb": (rgb,), "depth": (xyz,), "rgbd": (rgb, xyz)}[branch]


def _train_throughput(net: ThreeBranchNet, size: int, batch: int = 16, steps: int = 3) -> float:
    net.train()
    optimiser = torch.optim.SGD(net.parameters(), lr=1e-4)
    rgb, xyz = torch.randn(batch, 3, size, size), torch.randn(batch, 4, size, size)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        out = net(rgb, xyz)
        loss = sum(o.square().mean() for o in out.values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - start)
    return batch / float(np.median(times[1:]))


def benchmark(candidates: tuple[tuple[str, float, int], ...] = CANDIDATES, threads: int = 2, runs: int = 50,
              repeats: int = 3, train: bool = False) -> list[BenchmarkRow]:
    """Export and time every candidate; each latency is the best of ``repeats`` medians
    (the least disturbed by other processes on a shared machine)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backbone, width, size in candidates:
            torch.manual_seed(0)
            net = ThreeBranchNet(NetworkConfig(backbone=backbone, width=width), OutputLayout()).eval()
            megabytes, latency = {}, {}
            for branch in BRANCHES:
                module = BranchModule(net, branch)
                inputs = _inputs(branch, size)
                path = export_module(module, inputs, Path(tmp) / f"{backbone}_{size}_{branch}.onnx",
                                     module.input_names(), ["params"])
                megabytes[branch] = path.stat().st_size / 1e6
                session = create_session(path, SessionConfig(threads=threads, use_gpu=False))
                feeds = {name: x.numpy() for name, x in zip(module.input_names(), inputs, strict=True)}
                trials = [time_session(session, feeds, runs=runs) for _ in range(repeats)]
                latency[branch] = min(trials, key=lambda t: t["median_ms"])
            row = BenchmarkRow(backbone, width, size, megabytes, latency)
            if train:
                torch.set_num_threads(threads)
                row.train_samples_per_s = _train_throughput(net, size)
            log.info("%s", format_table([row], header=False))
            rows.append(row)
    return rows


def format_table(rows: list[BenchmarkRow], header: bool = True) -> str:
    lines = []
    if header:
        lines.append("| backbone | width | px | rgb ms | depth ms | rgbd ms | MB (3 files) | train samples/s |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        cells = [f"{r.latency[b]['median_ms']:.1f} ({r.latency[b]['p10_ms']:.1f}-{r.latency[b]['p90_ms']:.1f})"
                 for b in BRANCHES]
        train = f"{r.train_samples_per_s:.1f}" if r.train_samples_per_s is not None else "-"
        lines.append(f"| {r.backbone} | {r.width:g} | {r.size} | {' | '.join(cells)} | {r.total_megabytes:.1f} | "
                     f"{train} |")
    return "\n".join(lines)
