"""The training objective: decodes each branch's parameters into meshes and sums the terms.

Which terms apply to which branch (weights in :class:`training.config.LossConfig`):

===========  ===  =====  ====  ================================================
term         rgb  depth  rgbd  needs
===========  ===  =====  ====  ================================================
parameters    x     x     x    synthetic ground truth (identity ... lighting)
vertex        x     x     x    ground-truth mesh (rgb: centred, scale-free of t)
shape         x     x     x    ground-truth mesh and pose (head frame)
geometry            x     x    XYZ input (Eq. 5)
colour        x           x    colour crop (Eq. 6)
landmarks_2d  x     x     x    2D landmarks (Eq. 7)
landmarks_3d  x     x     x    3D landmarks (Eq. 8)
cross_rgb     x                the RGB-D branch's mesh on the same item (Eq. 9)
cross_scan          x     x    scan points (Eq. 10)
regularisers  x     x     x    always
===========  ===  =====  ====  ================================================

Every term is computed per batch item and averaged over the items that have what it needs.
Distances are metres inside the terms; the objective reports them in centimetres (the
weights' unit) and the vertex errors in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from models.face_model import FaceModel
from models.render.albedo import AlbedoModel
from training.appearance import AlbedoLayer
from training.config import TrainConfig
from training.data.sample import Batch
from training.decoder import NARROW, ShapeDecoder
from training.geometry import pose, translation_from_network, translation_to_network
from training.losses.colour import PixelCorrespondence, Rasterizer, colour_loss, srgb_to_linear
from training.losses.geometry import closest_points, point_to_point_loss, projective_closest_points
from training.losses.landmarks import landmark_2d_loss, landmark_3d_loss
from training.losses.supervision import cross_domain_loss, l21, parameter_losses, regularizers
from training.network.layout import OutputLayout, split_params

__all__ = ["BranchMesh", "Correspondences", "Objective"]

ANCHOR_OF = {"rgb": "rgb_anchor", "depth": "xyz_anchor", "rgbd": "xyz_anchor"}
CM = 100.0


@dataclass
class BranchMesh:
    """One branch's decoded prediction on a batch (rows it did not run on hold zeros).

    params: split parameters (translation normalised); ran: (B,) bool; translation: (B, 3)
    metres, crop frame; shape: (B, V, 3) head-frame narrow face; corrective: (B, V, 3) the
    decoder's learned part of it; posed: (B, V, 3) crop camera frame.
    """

    params: dict[str, torch.Tensor]
    ran: torch.Tensor
    translation: torch.Tensor
    shape: torch.Tensor
    corrective: torch.Tensor
    posed: torch.Tensor


@dataclass
class Correspondences:
    """Fixed correspondences per branch (see :mod:`training.schedule` for when they are made).

    geometry / scan: branch -> (vertex indices (N,), targets (B, N, 3), found (B, N));
    pixels: branch -> :class:`PixelCorrespondence`.
    """

    geometry: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    scan: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    pixels: dict[str, PixelCorrespondence] = field(default_factory=dict)


def _masked_mean(term: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weight = mask.to(term.dtype)
    return (term * weight).sum() / weight.sum().clamp(min=1.0)


class Objective(nn.Module):
    """Decodes predictions and evaluates the weighted loss (see the module doc)."""

    def __init__(self, config: TrainConfig, model: FaceModel, albedo: AlbedoModel, layout: OutputLayout):
        super().__init__()
        self.config = config
        self.weights = config.loss
        self.layout = layout
        self.scale = config.crop.metric_scale_m
        triangles = model.region("narrow_face").triangles
        self.register_buffer("triangles", torch.from_numpy(triangles.astype(np.int64)))
        self.register_buffer("landmarks", torch.from_numpy(model.landmark_indices.astype(np.int64)))
        self.albedo = AlbedoLayer(albedo, NARROW)
        self.rasterizer = Rasterizer(config.crop.size, triangles)
        self._generator = torch.Generator().manual_seed(config.run.seed)

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, outputs: dict[str, tuple[torch.Tensor, torch.Tensor]], batch: Batch,
               decoder: ShapeDecoder) -> dict[str, BranchMesh]:
        """branch -> (params (B, P), ran (B,)) into :class:`BranchMesh` per branch."""
        meshes = {}
        for branch, (params, ran) in outputs.items():
            parts = split_params(self.layout, params)
            anchor = batch.rgb_anchor if ANCHOR_OF[branch] == "rgb_anchor" else batch.fields["xyz_anchor"]
            translation = translation_from_network(parts["translation"], anchor, self.scale)
            linear = decoder.linear(parts["identity"], parts["expression"])
            corrective = decoder.corrective(parts["identity"], parts["expression"])
            shape = linear + corrective
            meshes[branch] = BranchMesh(parts, ran, translation, shape, corrective,
                                        pose(shape, parts["rotation"], translation))
        return meshes

    # -- correspondences ----------------------------------------------------------------------

    @torch.no_grad()
    def correspondences(self, batch: Batch, meshes: dict[str, BranchMesh], with_colour: bool = True
                        ) -> Correspondences:
        """Closest points (Eq. 5, 10) and pixel correspondences (Eq. 6) of ``meshes``."""
        w = self.weights
        out = Correspondences()
        xyz = batch.get("xyz")
        if xyz is not None and w.geometry > 0:
            metric = xyz[:, :3].permute(0, 2, 3, 1) * self.scale + batch.fields["xyz_anchor"][:, None, None, :]
            valid = xyz[:, 3] > 0.5
            count = min(w.geometry_vertices, NARROW)
            index = torch.randperm(NARROW, generator=self._generator)[:count].to(xyz.device)
            for branch in ("depth", "rgbd"):
                if branch in meshes:
                    targets, found = projective_closest_points(
                        meshes[branch].posed[:, index], metric, valid, batch.intrinsics, radius=w.geometry_radius,
                        max_distance=w.geometry_max_distance)
                    out.geometry[branch] = (index, targets, found & (batch.has("xyz") & meshes[branch].ran)[:, None])
        scan = batch.get("scan_points")
        if scan is not None and w.cross_scan > 0:
            count = min(w.geometry_vertices, NARROW)
            index = torch.randperm(NARROW, generator=self._generator)[:count].to(scan.device)
            for branch in ("depth", "rgbd"):
                if branch in meshes:
                    rows = batch.has("scan_points").to(scan.device) & meshes[branch].ran
                    targets, found = closest_points(meshes[branch].posed[:, index], scan,
                                                    max_distance=w.geometry_max_distance, rows=rows)
                    out.scan[branch] = (index, targets, found)
        if with_colour and batch.get("rgb_crop") is not None and w.colour > 0:
            has = batch.has("rgb_crop")
            for branch in ("rgb", "rgbd"):
                if branch in meshes:
                    rows = torch.nonzero(has & meshes[branch].ran).flatten()[: w.colour_samples]
                    out.pixels[branch] = self.rasterizer(meshes[branch].posed, batch.intrinsics, rows)
        return out

    # -- the loss -----------------------------------------------------------------------------

    def forward(self, batch: Batch, meshes: dict[str, BranchMesh], correspondences: Correspondences
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted total and a flat dict of logged values (``branch/term``)."""
        w = self.weights
        total = torch.zeros((), device=batch.intrinsics.device)
        logs: dict[str, float] = {}
        branch_weight = {"rgb": w.branch_rgb, "depth": w.branch_depth, "rgbd": w.branch_rgbd}
        for branch, mesh in meshes.items():
            terms = self._branch_terms(branch, batch, mesh, meshes, correspondences)
            for name, (value, weight) in terms.items():
                logs[f"{branch}/{name}"] = float(value.detach())
                if weight > 0:
                    total = total + branch_weight[branch] * weight * value
            logs.update(self._metrics(branch, batch, mesh))
        logs["total"] = float(total.detach())
        return total, logs

    def _branch_terms(self, branch: str, batch: Batch, mesh: BranchMesh, meshes: dict[str, BranchMesh],
                      corr: Correspondences) -> dict[str, tuple[torch.Tensor, float]]:
        w = self.weights
        ran = mesh.ran
        terms: dict[str, tuple[torch.Tensor, float]] = {}

        # direct supervision
        target = {name: batch.fields[name] for name in ("identity", "expression", "rotation", "albedo", "lighting")
                  if name in batch.fields}
        if "translation" in batch.fields:
            anchor = batch.rgb_anchor if ANCHOR_OF[branch] == "rgb_anchor" else batch.get("xyz_anchor")
            if anchor is not None:
                target["translation"] = translation_to_network(batch.fields["translation"], anchor, self.scale)
        z_weight = w.rgb_translation_z if branch == "rgb" else 1.0
        axis_weights = torch.tensor([1.0, 1.0, z_weight], device=ran.device)
        for name, value in parameter_losses(mesh.params, target, axis_weights).items():
            terms[name] = (_masked_mean(value, ran & batch.has(name)), getattr(w, name))
        if "vertices" in batch.fields:
            has = ran & batch.has("vertices")
            gt = batch.fields["vertices"]
            if branch == "rgb":
                error = l21(mesh.posed - mesh.posed.mean(1, keepdim=True), gt - gt.mean(1, keepdim=True))
            else:
                error = l21(mesh.posed, gt)
            terms["vertex"] = (_masked_mean(error * CM, has), w.vertex)
            if "rotation" in batch.fields and "translation" in batch.fields:
                r, t = batch.fields["rotation"], batch.fields["translation"]
                gt_head = (gt - t[:, None, :]) @ r  # R^T (p - t), as row vectors
                terms["shape"] = (_masked_mean(l21(mesh.shape, gt_head) * CM, has & batch.has("rotation")), w.shape)

        # the paper's terms
        if branch in corr.geometry:
            index, targets, found = corr.geometry[branch]
            value = point_to_point_loss(mesh.posed[:, index], targets, found) * CM
            terms["geometry"] = (_masked_mean(value, found.any(1)), w.geometry)
        if branch in corr.scan:
            index, targets, found = corr.scan[branch]
            value = point_to_point_loss(mesh.posed[:, index], targets, found) * CM
            terms["cross_scan"] = (_masked_mean(value, found.any(1)), w.cross_scan)
        if branch in corr.pixels and len(corr.pixels[branch]) > 0:
            image = srgb_to_linear(batch.fields["rgb_crop"].to(mesh.posed.dtype) / 255.0)
            albedo = self.albedo(mesh.params["albedo"])
            value, count = colour_loss(mesh.posed, albedo, mesh.params["lighting"], image, self.triangles,
                                       corr.pixels[branch])
            terms["colour"] = (_masked_mean(value, count > 0), w.colour)
        landmarks = mesh.posed[:, self.landmarks]
        if "landmarks_2d" in batch.fields:
            size = self.config.crop.size
            value = landmark_2d_loss(landmarks, batch.fields["landmarks_2d"], batch.intrinsics) * (100.0 / size)
            terms["landmarks_2d"] = (_masked_mean(value, ran & batch.has("landmarks_2d")), w.landmarks_2d)
        if "landmarks_3d" in batch.fields:
            value = landmark_3d_loss(landmarks, batch.fields["landmarks_3d"]) * CM
            terms["landmarks_3d"] = (_masked_mean(value, ran & batch.has("landmarks_3d")), w.landmarks_3d)
        if branch == "rgb" and "rgbd" in meshes:
            value = cross_domain_loss(mesh.posed, meshes["rgbd"].posed) * CM
            terms["cross_rgb"] = (_masked_mean(value, ran & meshes["rgbd"].ran), w.cross_rgb)

        # regularisers
        for name, value in regularizers(mesh.params).items():
            terms[name] = (_masked_mean(value, ran), getattr(w, name))
        corrective = (mesh.corrective * CM).pow(2).sum(-1).mean(1)
        terms["reg_corrective"] = (_masked_mean(corrective, ran), w.reg_corrective)
        return terms

    @torch.no_grad()
    def _metrics(self, branch: str, batch: Batch, mesh: BranchMesh) -> dict[str, float]:
        if "vertices" not in batch.fields:
            return {}
        has = mesh.ran & batch.has("vertices")
        gt = batch.fields["vertices"]
        posed = l21(mesh.posed, gt) * 1000.0
        centred = l21(mesh.posed - mesh.posed.mean(1, keepdim=True), gt - gt.mean(1, keepdim=True)) * 1000.0
        return {f"{branch}/vertex_mm": float(_masked_mean(posed, has)),
                f"{branch}/centred_vertex_mm": float(_masked_mean(centred, has))}
