"""GLSL sources of :class:`models.render.renderer.MeshRenderer`.

The vertex shader takes camera-frame corners (metres) and applies the pinhole projection of
:func:`projection_coefficients`; the fragment shader writes, per pixel centre:

* location 0, always: ``(r, g, b, z)``: the clamped linear colour (lit by SH when asked) and
  the camera z of the surface;
* then, each only when compiled in, at the next free locations in this order:
  ``triangle + 1`` (one float, ``gl_PrimitiveID + 1``, so 0 stays the background; exact as a
  float32 below 2^24 triangles), ``(b0, b1, b2, 0)`` the perspective-correct barycentrics,
  ``(nx, ny, nz, 0)`` the unit interpolated vertex normal.

The SH basis constants are pasted in from :data:`models.render.sh_lighting.SH_CONSTANTS`, so
the GPU and the NumPy :func:`~models.render.sh_lighting.shade` use the same numbers.
"""

from __future__ import annotations

import numpy as np

from models.camera import Intrinsics
from models.render.sh_lighting import SH_CONSTANTS

__all__ = ["OPTIONAL_TARGETS", "VERTEX_SHADER", "fragment_shader", "projection_coefficients"]


def projection_coefficients(intrinsics: Intrinsics, near: float, far: float) -> tuple[np.ndarray, np.ndarray]:
    """The clip-space mapping of the vertex shader, for camera-frame points (X, Y, Z) in metres.

    ``clip = (ax X + bx Z, ay Y + by Z, a Z + b, Z)``: after the divide by Z, GL window x is
    ``fx X / Z + cx + 0.5`` (OpenCV puts pixel centres at integers, GL at half-integers) and
    window y likewise with ``fy, cy``. GL reads framebuffers back from window row 0 upward, so
    window row ``v`` comes back as image row ``v``: the image is upright with no flip. ``a, b``
    map Z in [near, far] to normalised depth [-1, 1].

    Returns:
        ``((ax, bx, ay, by), (a, b))`` as float32 arrays of shape (4,) and (2,).
    """
    w, h = intrinsics.width, intrinsics.height
    xy = np.array([
        2.0 * intrinsics.fx / w,
        2.0 * (intrinsics.cx + 0.5) / w - 1.0,
        2.0 * intrinsics.fy / h,
        2.0 * (intrinsics.cy + 0.5) / h - 1.0,
    ], dtype=np.float32)
    z = np.array([(far + near) / (far - near), -2.0 * far * near / (far - near)], dtype=np.float32)
    return xy, z


VERTEX_SHADER = """
#version 330
uniform vec4 u_proj_xy;   // ax, bx, ay, by
uniform vec2 u_proj_z;    // a, b
in vec3 in_position;      // camera frame, metres
in vec3 in_color;         // linear RGB
in vec3 in_normal;        // camera frame, unit (or zero)
out vec3 v_color;
out vec3 v_normal;
out vec3 v_bary;
out float v_z;
void main() {
    int corner = gl_VertexID % 3;   // non-indexed draw: 3 consecutive corners per triangle
    v_bary = vec3(corner == 0, corner == 1, corner == 2);
    v_color = in_color;
    v_normal = in_normal;
    v_z = in_position.z;
    gl_Position = vec4(
        u_proj_xy.x * in_position.x + u_proj_xy.y * in_position.z,
        u_proj_xy.z * in_position.y + u_proj_xy.w * in_position.z,
        u_proj_z.x * in_position.z + u_proj_z.y,
        in_position.z);
}
"""

_FRAGMENT_TEMPLATE = """
#version 330
uniform bool u_use_sh;
uniform vec3 u_sh[9];      // rows of the (9, 3) SH coefficients
in vec3 v_color;
in vec3 v_normal;
in vec3 v_bary;
in float v_z;
layout(location = 0) out vec4 out_rgb_z;
%(declarations)s
void main() {
    float len = length(v_normal);
    vec3 n = len > 0.0 ? v_normal / len : vec3(0.0);
    vec3 color = v_color;
    if (u_use_sh) {
        float x = n.x, y = n.y, z = n.z;
        vec3 light = %(C0)s * u_sh[0]
            + %(C1)s * y * u_sh[1] + %(C2)s * z * u_sh[2] + %(C3)s * x * u_sh[3]
            + %(C4)s * x * y * u_sh[4] + %(C5)s * y * z * u_sh[5]
            + %(C6)s * (3.0 * z * z - 1.0) * u_sh[6]
            + %(C7)s * x * z * u_sh[7] + %(C8)s * (x * x - y * y) * u_sh[8];
        color *= light;
    }
    out_rgb_z = vec4(clamp(color, 0.0, 1.0), v_z);
%(writes)s
}
"""

# name -> (GLSL type, value written); the optional targets, in location order.
_OPTIONAL_OUTPUTS: dict[str, tuple[str, str]] = {
    "triangle_id": ("float", "float(gl_PrimitiveID + 1)"),
    "barycentrics": ("vec4", "vec4(v_bary, 0.0)"),
    "normals": ("vec4", "vec4(n, 0.0)"),
}
OPTIONAL_TARGETS: tuple[str, ...] = tuple(_OPTIONAL_OUTPUTS)


def fragment_shader(targets: tuple[str, ...]) -> str:
    """The fragment shader writing colour and z at location 0, then ``targets`` (names from
    :data:`OPTIONAL_TARGETS`, in that order) at locations 1, 2, ..."""
    unknown = set(targets) - set(OPTIONAL_TARGETS)
    if unknown:
        raise ValueError(f"unknown render targets {sorted(unknown)}")
    ordered = [name for name in OPTIONAL_TARGETS if name in targets]
    declarations = "\n".join(
        f"layout(location = {k}) out {_OPTIONAL_OUTPUTS[name][0]} out_{name};"
        for k, name in enumerate(ordered, start=1)
    )
    writes = "\n".join(f"    out_{name} = {_OPTIONAL_OUTPUTS[name][1]};" for name in ordered)
    constants = {f"C{k}": repr(float(c)) for k, c in enumerate(SH_CONSTANTS)}
    return _FRAGMENT_TEMPLATE % {"declarations": declarations, "writes": writes, **constants}
