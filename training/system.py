"""Everything trained together: network, decoder and objective, and one step's forward pass.

:class:`TrainSystem` is the module that DDP wraps: ``forward(batch, phase, reference_decoder)``
runs the branches the batch has inputs for, decodes meshes, makes the correspondences (from
the current prediction in an encoder phase, from the frozen reference decoder in a decoder
phase) and returns the loss and its logged parts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from models.conventions import face_centre_in_head
from models.face_model import FaceModel
from models.render.albedo import AlbedoModel
from training.config import TrainConfig
from training.data.sample import Batch
from training.decoder import ShapeDecoder
from training.losses.objective import Objective
from training.network.aligned import farthest_point_indices
from training.network.layout import OutputLayout
from training.network.model import BRANCHES, ThreeBranchNet
from training.schedule import DECODER

__all__ = ["TrainSystem", "aligned_vertices", "build_system", "run_branches"]


def run_branches(net: ThreeBranchNet, batch: Batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """branch -> (params (B, P), ran (B,) bool) for every branch some batch items can feed.

    When every item has colour and XYZ (synthetic and RGB-D data) the branches share one pass
    through the early layers; otherwise each branch runs on its own items and the rows it did
    not run on are zeros.
    """
    has_rgb, has_xyz = batch.has("rgb"), batch.has("xyz")
    rgb, xyz = _channels_last(batch.get("rgb")), _channels_last(batch.get("xyz"))
    camera = batch.crop_camera() if net.takes_camera else None
    if bool(has_rgb.all()) and bool(has_xyz.all()):
        ones = torch.ones(len(batch), dtype=torch.bool, device=rgb.device)
        return {name: (params, ones) for name, params in net(rgb, xyz, BRANCHES, camera).items()}
    out = {}
    for branch, rows in (("rgb", has_rgb), ("depth", has_xyz), ("rgbd", has_rgb & has_xyz)):
        index = torch.nonzero(rows).flatten()
        if index.numel() == 0:
            continue
        sub = net(rgb[index] if rgb is not None else None, xyz[index] if xyz is not None else None,
                  (branch,), camera[index] if camera is not None else None)[branch]
        params = sub.new_zeros((len(batch), sub.shape[1])).index_copy(0, index.to(sub.device), sub)
        out[branch] = (params, rows.to(sub.device))
    return out


def _channels_last(images: torch.Tensor | None) -> torch.Tensor | None:
    """(B, C, S, S) images stored channels-last, the layout the network's convolutions run
    fastest in (about 30 % less time for a lite forward and backward pass on one CPU thread)."""
    return None if images is None else images.contiguous(memory_format=torch.channels_last)


class TrainSystem(nn.Module):
    """Network + decoder + objective (see the module doc)."""

    def __init__(self, net: ThreeBranchNet, decoder: ShapeDecoder, objective: Objective):
        super().__init__()
        self.net, self.decoder, self.objective = net, decoder, objective

    def forward(self, batch: Batch, phase: str, reference_decoder: ShapeDecoder | None = None,
                with_colour: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
        if phase == DECODER:
            with torch.no_grad():
                outputs = run_branches(self.net, batch)
        else:
            outputs = run_branches(self.net, batch)
        meshes = self.objective.decode(outputs, batch, self.decoder)
        if phase == DECODER and reference_decoder is not None:
            with torch.no_grad():
                reference = self.objective.decode(outputs, batch, reference_decoder)
        else:
            reference = meshes
        correspondences = self.objective.correspondences(batch, reference, with_colour=with_colour)
        return self.objective(batch, meshes, correspondences)


def aligned_vertices(model: FaceModel, count: int, metric_scale_m: float
                     ) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    """(template (K, 3), basis (153, K, 3), metric scale) of ``count`` narrow-face vertices spread
    by farthest-point sampling over the mean face, metres; None for ``count`` 0."""
    if count <= 0:
        return None
    template = model.vertices(region="narrow_face")
    index = farthest_point_indices(template, count)
    basis = np.concatenate([model.identity_basis[:, index], model.expression_basis[:, index]])
    return torch.from_numpy(template[index].astype(np.float32)), torch.from_numpy(basis.astype(np.float32)), metric_scale_m


def build_system(config: TrainConfig, model: FaceModel) -> TrainSystem:
    """A freshly initialised system for ``config``."""
    albedo = AlbedoModel.from_face_model(model)
    layout = OutputLayout(identity=model.num_identity, expression=model.num_expression,
                          albedo=albedo.num_components)
    centre = face_centre_in_head(model) / config.crop.metric_scale_m
    net = ThreeBranchNet(config.network, layout, tuple(float(c) for c in centre),
                         aligned_vertices(model, config.network.aligned_vertices, config.crop.metric_scale_m))
    net = net.to(memory_format=torch.channels_last)  # see _channels_last
    decoder = ShapeDecoder(model, config.network.corrective_rank, config.network.corrective_hidden)
    return TrainSystem(net, decoder, Objective(config, model, albedo, layout))
