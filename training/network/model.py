"""The paper's three-branch CNN (Sec. III-C, Fig. 2).

* RGB branch: ``rgb_early`` -> ``rgb_late`` -> head; input (B, 3, S, S) normalised colour.
* Depth (XYZ) branch: ``xyz_early`` -> ``xyz_late`` -> head; input (B, 4, S, S) normalised
  crop-frame XYZ plus validity (``models.crop.CropRecipe.normalize_xyz``). It infers the pose
  directly from the XYZ values, as the paper does.
* RGB-D branch: the *same* ``rgb_early`` and ``xyz_early`` modules (weights shared with the
  single branches), their stride-8 features concatenated, a 1x1 convolution bringing 2 C_mid
  channels back to C_mid (the paper feeds the concatenation to the next ResNet stage, whose
  first block would take 2 C_mid channels), then its own ``rgbd_late`` and head.

With ``network.aligned_vertices`` > 0 the depth and RGB-D branches end in mesh-aligned
refinement steps (:mod:`training.network.aligned`) that read their XYZ input back at their own
face estimate; those branches then also take ``crop_camera`` (B, 7).

Every head outputs the exported parameter vector of :class:`OutputLayout` (identity,
expression in [0, 1], rotation matrix, normalised translation, albedo, SH lighting), all in
the crop camera frame.
"""

from __future__ import annotations

import torch
from torch import nn

from training.config import NetworkConfig
from training.network.aligned import MeshAlignedRefiner
from training.network.backbones import build_backbone
from training.network.layout import OutputLayout
from training.network.rotation import six_d_to_matrix

__all__ = ["ALIGNED_BRANCHES", "BRANCHES", "BranchModule", "ParamHead", "ThreeBranchNet"]

BRANCHES = ("rgb", "depth", "rgbd")
ALIGNED_BRANCHES = ("depth", "rgbd")  # the branches with XYZ input to refine against

# Head initialisation: a frontal face (camera-from-head diag(1, -1, -1)), the face centre just
# behind the anchor (the anchor sits on the face surface), few active expressions and an
# ambient light level of about 0.7.
_INIT_ROTATION_6D = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
_INIT_FACE_CENTRE = (0.0, 0.0, 0.1)
_INIT_EXPRESSION_LOGIT = -3.0
_INIT_AMBIENT_SH0 = 0.7 / 0.28209479177387814


class ParamHead(nn.Module):
    """Pooled features (B, C) -> exported parameters (B, layout.total()).

    The head regresses where the *face centre* is (``face_centre``: a head-frame point, in
    metric units of the crop recipe, e.g. the landmark centroid), not the head origin ~10 cm
    behind the face: ``t = c - R p_c``. The exported translation is still the head origin's;
    this only decouples the position the network regresses from its rotation error.
    """

    def __init__(self, in_features: int, hidden: int, layout: OutputLayout,
                 face_centre: tuple[float, float, float] = (0.0, 0.0, 0.0)):
        super().__init__()
        self.layout = layout
        self.register_buffer("face_centre", torch.tensor(face_centre, dtype=torch.float32))
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True))
        self.out = nn.Linear(hidden, layout.total(raw=True))
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            bias = torch.zeros(layout.total(raw=True))
            s = layout.slices(raw=True)
            bias[s["rotation"]] = torch.tensor(_INIT_ROTATION_6D)
            bias[s["translation"]] = torch.tensor(_INIT_FACE_CENTRE)
            bias[s["expression"]] = _INIT_EXPRESSION_LOGIT
            bias[s["lighting"].start] = _INIT_AMBIENT_SH0  # coefficient 0, red
            bias[s["lighting"].start + 1] = _INIT_AMBIENT_SH0  # green
            bias[s["lighting"].start + 2] = _INIT_AMBIENT_SH0  # blue
            self.out.bias.copy_(bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        raw = self.out(self.mlp(features))
        s = self.layout.slices(raw=True)
        rotation = six_d_to_matrix(raw[:, s["rotation"]])
        translation = raw[:, s["translation"]] - rotation @ self.face_centre
        return torch.cat([
            raw[:, s["identity"]],
            torch.sigmoid(raw[:, s["expression"]]),
            rotation.reshape(-1, 9),
            translation,
            raw[:, s["albedo"]],
            raw[:, s["lighting"]],
        ], dim=1)


class ThreeBranchNet(nn.Module):
    """The three branches with shared early layers (see the module doc)."""

    def __init__(self, config: NetworkConfig, layout: OutputLayout,
                 face_centre: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 aligned: tuple[torch.Tensor, torch.Tensor, float] | None = None):
        """face_centre: the head-frame point the heads regress the position of, divided by the
        crop recipe's metric scale (see :class:`ParamHead`); zeros regress the head origin.
        aligned: (template (K, 3) m, basis (153, K, 3) m, metric scale m) of the mesh-aligned
        steps, needed when ``config.aligned_vertices`` > 0 (see :func:`training.system.build_system`)."""
        super().__init__()
        self.layout = layout
        rgb = build_backbone(config.backbone, 3, config.width)
        xyz = build_backbone(config.backbone, 4, config.width)
        rgbd = build_backbone(config.backbone, 4, config.width)  # only its late half is used
        mid = rgb.mid_channels
        self.rgb_early, self.rgb_late = rgb.early, rgb.late
        self.xyz_early, self.xyz_late = xyz.early, xyz.late
        self.rgbd_fuse = nn.Sequential(
            nn.Conv2d(2 * mid, mid, kernel_size=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.rgbd_late = rgbd.late
        self.heads = nn.ModuleDict({
            name: ParamHead(rgb.out_channels, config.head_hidden, layout, face_centre) for name in BRANCHES})
        if config.aligned_vertices > 0:
            if aligned is None:
                raise ValueError("network.aligned_vertices needs the template and basis of the sampled vertices")
            template, basis, scale = aligned
            self.aligned = nn.ModuleDict({
                name: MeshAlignedRefiner(template, basis, layout, scale, config.aligned_hidden, config.aligned_iterations)
                for name in ALIGNED_BRANCHES})
        else:
            self.aligned = None

    @property
    def takes_camera(self) -> bool:
        """Whether the depth-input branches take ``crop_camera`` (they end in mesh-aligned steps)."""
        return self.aligned is not None
    def forward(self, rgb: torch.Tensor | None = None, xyz: torch.Tensor | None = None,
                branches: tuple[str, ...] = BRANCHES, crop_camera: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """Run the requested branches on a batch; the early features are computed once.

        Args:
            rgb: (B, 3, S, S) normalised colour (needed by ``rgb`` and ``rgbd``).
            xyz: (B, 4, S, S) normalised XYZ + validity (needed by ``depth`` and ``rgbd``).
            branches: which outputs to compute.
            crop_camera: (B, 7) crop intrinsics ``fx, fy, cx, cy`` (pixels) and XYZ anchor
                (metres), :func:`models.crop.crop_camera_vector`; needed by ``depth`` and
                ``rgbd`` when they end in mesh-aligned steps.

        Returns:
            branch name -> (B, layout.total()) parameters.
        """
        out: dict[str, torch.Tensor] = {}
        rgb_mid = self.rgb_early(rgb) if rgb is not None and ({"rgb", "rgbd"} & set(branches)) else None
        xyz_mid = self.xyz_early(xyz) if xyz is not None and ({"depth", "rgbd"} & set(branches)) else None
        if "rgb" in branches:
            if rgb_mid is None:
                raise ValueError("the rgb branch needs colour input")
            out["rgb"] = self.heads["rgb"](self.rgb_late(rgb_mid))
        if "depth" in branches:
            if xyz_mid is None:
                raise ValueError("the depth branch needs XYZ input")
            out["depth"] = self._refined("depth", self.heads["depth"](self.xyz_late(xyz_mid)), xyz, crop_camera)
        if "rgbd" in branches:
            if rgb_mid is None or xyz_mid is None:
                raise ValueError("the rgbd branch needs colour and XYZ input")
            fused = self.rgbd_fuse(torch.cat([rgb_mid, xyz_mid], dim=1))
            out["rgbd"] = self._refined("rgbd", self.heads["rgbd"](self.rgbd_late(fused)), xyz, crop_camera)
        return out

    def _refined(self, branch: str, params: torch.Tensor, xyz: torch.Tensor, crop_camera: torch.Tensor | None
                 ) -> torch.Tensor:
        if self.aligned is None:
            return params
        if crop_camera is None:
            raise ValueError(f"the {branch} branch ends in mesh-aligned steps: it needs crop_camera")
        return self.aligned[branch](params, xyz, crop_camera)


class BranchModule(nn.Module):
    """One branch of a :class:`ThreeBranchNet` as a standalone module (for export and timing).

    ``rgb``: forward(rgb); ``depth``: forward(xyz); ``rgbd``: forward(rgb, xyz). Shares the
    network's parameters.
    """

    def __init__(self, net: ThreeBranchNet, branch: str):
        super().__init__()
        if branch not in BRANCHES:
            raise ValueError(f"unknown branch {branch!r}; known: {BRANCHES}")
        self.net, self.branch = net, branch

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        named = dict(zip(self.input_names(), inputs, strict=True))
        return self.net(rgb=named.get("rgb"), xyz=named.get("xyz"), branches=(self.branch,),
                        crop_camera=named.get("crop_camera"))[self.branch]

    def input_names(self) -> tuple[str, ...]:
        names = {"rgb": ("rgb",), "depth": ("xyz",), "rgbd": ("rgb", "xyz")}[self.branch]
        if self.branch in ALIGNED_BRANCHES and self.net.takes_camera:
            names += ("crop_camera",)
        return names
