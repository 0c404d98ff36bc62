"""Headless OpenGL rendering of face meshes, with lighting and albedo for synthetic data.

* :mod:`~models.render.gl_context`: the process's one standalone EGL context (lazy).
* :mod:`~models.render.renderer`: :class:`MeshRenderer` draws a camera-frame mesh through an
  :class:`~models.camera.Intrinsics` into a :class:`RenderResult` (linear RGB, depth, mask,
  triangle ids, barycentrics, normals).
* :mod:`~models.render.sh_lighting`: 3-band spherical-harmonics lighting (the paper's Eq. 4).
* :mod:`~models.render.albedo`: a procedural linear per-vertex albedo model for the head.
* :mod:`~models.render.barycentrics`: per-pixel interpolation with a render's ids and
  barycentrics, screen-space barycentrics.
* vertex normals and the winding convention: :mod:`models.normals` (re-exported here).
* :mod:`~models.render.color`: linear <-> sRGB conversions.

Importing this package creates no GL context; the first renderer does.
"""

from models.normals import VertexNormals, vertex_normals
from models.render.albedo import ALBEDO_COMPONENTS, AlbedoModel
from models.render.barycentrics import interpolate, screen_barycentrics
from models.render.color import linear_to_srgb, srgb_to_linear, to_srgb_uint8
from models.render.gl_context import get_context
from models.render.renderer import ALL_OUTPUTS, MeshRenderer, RenderResult
from models.render.sh_lighting import SH_CONSTANTS, ambient_sh, directional_sh, random_sh, sh_basis, shade

__all__ = [
    "ALBEDO_COMPONENTS",
    "ALL_OUTPUTS",
    "SH_CONSTANTS",
    "AlbedoModel",
    "MeshRenderer",
    "RenderResult",
    "VertexNormals",
    "ambient_sh",
    "directional_sh",
    "get_context",
    "interpolate",
    "linear_to_srgb",
    "random_sh",
    "screen_barycentrics",
    "sh_basis",
    "shade",
    "srgb_to_linear",
    "to_srgb_uint8",
    "vertex_normals",
]
