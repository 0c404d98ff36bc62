"""Headless rasterisation of a camera-frame triangle mesh into images with ground truth.

:class:`MeshRenderer` owns the framebuffers of one image size and draws a mesh given in the
camera frame (OpenCV: x right, y down, z forward, metres) through a pinhole
:class:`~models.camera.Intrinsics`, exactly in OpenCV's pixel convention: the centre of pixel
column ``u``, row ``v`` is the image point ``(u, v)``, and row 0 of every output is the top of
the image. It returns a :class:`RenderResult`: linear RGB, depth, mask, triangle ids,
perspective-correct barycentrics and normals, each sampled at the pixel centres (no
anti-aliasing).

How it is drawn: one draw call per frame, with ``gl_PrimitiveID`` (the index of the triangle
in the draw, i.e. exactly the row of ``triangles``) as the triangle id. Without barycentrics
it is an indexed draw of the per-vertex data (the index buffer is re-uploaded only when the
triangle list changes); with barycentrics the triangles are expanded on the CPU into a
non-indexed corner stream (3 corners per triangle, in the order of ``triangles``), where each
corner knows its barycentric corner from ``gl_VertexID % 3``. Back faces are drawn too (the
face model has open borders) and the nearest surface wins through a depth test. Only the
render targets needed for the requested outputs are drawn and read back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import moderngl
import numpy as np

from models.camera import Intrinsics
from models.errors import RenderError
from models.normals import VertexNormals
from models.render.gl_context import using_context
from models.render.sh_lighting import NUM_SH_COEFFS
from models.render.shaders import OPTIONAL_TARGETS, VERTEX_SHADER, fragment_shader, projection_coefficients

__all__ = ["ALL_OUTPUTS", "MeshRenderer", "RenderResult"]

log = logging.getLogger(__name__)

# Names accepted by ``MeshRenderer.render(outputs=...)``; ``mask`` is always produced.
ALL_OUTPUTS: frozenset[str] = frozenset({"rgb", "depth", "mask", "triangle_id", "barycentrics", "normals"})

_FLOATS_PER_CORNER = 9  # position, colour, normal
_MAX_TRIANGLES = 2**24 - 1  # triangle ids travel as float32 (exact integers up to 2^24)


@dataclass(frozen=True)
class RenderResult:
    """One rendered image and its ground truth; H x W is the renderer's size.

    Attributes:
        rgb: (H, W, 3) float32 linear RGB in [0, 1], 0 on the background.
        depth: (H, W) float32 camera z (distance along the optical axis) in metres of the
            surface seen at each pixel centre, 0 on the background.
        mask: (H, W) bool, True where a triangle covers the pixel centre.
        triangle_id: (H, W) int32 row of ``triangles`` seen at the pixel, -1 on the background.
        barycentrics: (H, W, 3) float32 perspective-correct barycentric coordinates of the
            surface point in that triangle, in the corner order of its row of ``triangles``:
            ``sum_k bary[k] * vertices[tri[k]]`` is the camera-frame point on the pixel's ray
            (it projects to the pixel centre within ~1e-3 px). For weights of the *projected*
            corners use :func:`models.render.barycentrics.screen_barycentrics`. 0 on the
            background.
        normals: (H, W, 3) float32 camera-frame unit normals (interpolated area-weighted vertex
            normals, out of the face; see :mod:`models.normals`), 0 on the background.

    Outputs not asked for in ``render(outputs=...)`` are ``None``.
    """

    rgb: np.ndarray | None
    depth: np.ndarray | None
    mask: np.ndarray
    triangle_id: np.ndarray | None
    barycentrics: np.ndarray | None
    normals: np.ndarray | None


@dataclass
class _Variant:
    """A program and framebuffer writing one subset of the render targets."""

    program: moderngl.Program
    framebuffer: moderngl.Framebuffer


class _Topology:
    """What depends only on the triangle list: vertex normals' adjacency, the index upload."""

    def __init__(self, triangles: np.ndarray, num_vertices: int) -> None:
        self.triangles = np.ascontiguousarray(triangles, dtype=np.int32)
        self.num_vertices = num_vertices
        self._normals: VertexNormals | None = None
        self.indices_uploaded = False

    def matches(self, triangles: np.ndarray, num_vertices: int) -> bool:
        return (
            self.num_vertices == num_vertices
            and self.triangles.shape == triangles.shape
            and np.array_equal(self.triangles, triangles)
        )

    def normals(self, vertices: np.ndarray) -> np.ndarray:
        if self._normals is None:
            self._normals = VertexNormals(self.triangles, self.num_vertices)
        return self._normals(vertices)


class _GrowingBuffer:
    """A dynamic GL buffer rewritten every frame: orphaned and refilled, re-created only to
    grow (which invalidates the vertex arrays that use it)."""

    def __init__(self) -> None:
        self.buffer: moderngl.Buffer | None = None
        self.capacity = 0

    def write(self, ctx: moderngl.Context, data: np.ndarray) -> bool:
        """Upload ``data``; True when the buffer was re-created."""
        buffer = self.buffer
        recreated = buffer is None or data.nbytes > self.capacity
        if buffer is None or recreated:
            if buffer is not None:
                buffer.release()
            self.capacity = max(int(data.nbytes * 1.25), 4096)
            buffer = self.buffer = ctx.buffer(reserve=self.capacity, dynamic=True)
            log.debug("GL buffer allocated: %d bytes", self.capacity)
        else:
            buffer.orphan(self.capacity)
        if data.nbytes:
            buffer.write(np.ascontiguousarray(data))
        return recreated

    def release(self) -> None:
        if self.buffer is not None:
            self.buffer.release()
            self.buffer = None


class MeshRenderer:
    """Renders camera-frame meshes into ``width`` x ``height`` images (see the module doc).

    The GL objects (render targets, programs, vertex buffer) live as long as the renderer and
    are re-used between frames: the vertex buffer is orphaned and rewritten, and only grows
    when a larger mesh comes. Use it as a context manager or call :meth:`release` to free them.
    It may be used from any thread (calls are serialised on the process's one GL context).

    Args:
        width, height: image size in pixels.
        near, far: clipping planes in metres (camera z); surfaces outside are not drawn.
    """

    def __init__(self, width: int, height: int, near: float = 0.05, far: float = 10.0) -> None:
        if width <= 0 or height <= 0:
            raise RenderError(f"the render size must be positive, got {width}x{height}")
        if not 0 < near < far:
            raise RenderError(f"need 0 < near < far, got near={near}, far={far}")
        self.width, self.height = int(width), int(height)
        self.near, self.far = float(near), float(far)
        self._buffers: dict[str, _GrowingBuffer] = {}  # "vertices", "corners", "indices"
        self._variants: dict[tuple[str, ...], _Variant] = {}
        self._vaos: dict[tuple[tuple[str, ...], bool], moderngl.VertexArray] = {}
        self._targets: dict[str, moderngl.Renderbuffer] = {}
        self._topology: _Topology | None = None
        self._read_buffers: dict[tuple[int, int], np.ndarray] = {}
        self._released = False
        with using_context() as ctx:
            self._depth_buffer = ctx.depth_renderbuffer((self.width, self.height))

    # -- lifetime -----------------------------------------------------------------------------

    def release(self) -> None:
        """Free the GL objects; the renderer cannot be used afterwards."""
        if self._released:
            return
        with using_context():
            for vao in self._vaos.values():
                vao.release()
            for variant in self._variants.values():
                variant.framebuffer.release()
                variant.program.release()
            for buffer in self._buffers.values():
                buffer.release()
            for target in (self._depth_buffer, *self._targets.values()):
                target.release()
        self._vaos.clear()
        self._variants.clear()
        self._targets.clear()
        self._released = True

    def __enter__(self) -> MeshRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- drawing ------------------------------------------------------------------------------

    def render(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        intrinsics: Intrinsics,
        colors: np.ndarray,
        sh: np.ndarray | None = None,
        outputs: Iterable[str] | None = None,
    ) -> RenderResult:
        """Draw one mesh.

        Args:
            vertices: (N, 3) float camera-frame positions in metres.
            triangles: (T, 3) integer indices into ``vertices``, wound counter-clockwise seen
                from outside (the face model's convention; it only matters for the normals).
            intrinsics: the camera; its width and height must equal the renderer's.
            colors: (N, 3) float linear RGB per vertex: the albedo when ``sh`` is given, else the
                final colour (e.g. already shaded per vertex).
            sh: None, or (9, 3) SH lighting in the camera frame (:mod:`models.render.sh_lighting`),
                applied per pixel: ``clamp(colour * (sh_basis(n) @ sh), 0, 1)`` with the
                interpolated colour and the interpolated, renormalised vertex normal ``n``.
            outputs: names from :data:`ALL_OUTPUTS` to produce (default: all); the others are
                ``None`` in the result. Fewer outputs draw and read back faster.

        Returns:
            A :class:`RenderResult`.

        Raises:
            RenderError: on arrays of the wrong shape, or intrinsics of another size.
        """
        if self._released:
            raise RenderError("this MeshRenderer has been released")
        wanted = ALL_OUTPUTS if outputs is None else frozenset(outputs)
        unknown = wanted - ALL_OUTPUTS
        if unknown:
            raise RenderError(f"unknown render outputs {sorted(unknown)}; known: {sorted(ALL_OUTPUTS)}")
        vertices, triangles, colors, sh = self._check_inputs(vertices, triangles, intrinsics, colors, sh)
        targets = tuple(name for name in OPTIONAL_TARGETS if name in wanted)
        with_normals = "normals" in wanted

        topology = self._topology_of(triangles, vertices.shape[0])
        attributes = np.empty((vertices.shape[0], _FLOATS_PER_CORNER), dtype=np.float32)
        attributes[:, 0:3] = vertices
        attributes[:, 3:6] = colors
        if sh is not None or with_normals:
            attributes[:, 6:9] = topology.normals(vertices)
        else:
            attributes[:, 6:9] = 0.0
        expanded = "barycentrics" in targets  # per-corner stream, see the module doc

        with using_context() as ctx:
            if expanded:
                self._write_buffer(ctx, "corners", attributes[topology.triangles.reshape(-1)])
            else:
                self._write_buffer(ctx, "vertices", attributes)
                if not topology.indices_uploaded:
                    self._write_buffer(ctx, "indices", topology.triangles)
                    topology.indices_uploaded = True
            variant = self._variant(ctx, targets)
            vao = self._vertex_array(ctx, targets, expanded)
            program = variant.program
            proj_xy, proj_z = projection_coefficients(intrinsics, self.near, self.far)
            program["u_proj_xy"].value = tuple(proj_xy.tolist())
            program["u_proj_z"].value = tuple(proj_z.tolist())
            program["u_use_sh"].value = sh is not None
            if sh is not None:
                program["u_sh"].write(np.ascontiguousarray(sh, dtype=np.float32).tobytes())
            variant.framebuffer.use()
            ctx.enable_only(moderngl.DEPTH_TEST)
            ctx.depth_func = "<"
            variant.framebuffer.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            if triangles.shape[0]:
                vao.render(moderngl.TRIANGLES, vertices=3 * triangles.shape[0])
            return self._read(variant.framebuffer, wanted, targets)

    def _check_inputs(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        intrinsics: Intrinsics,
        colors: np.ndarray,
        sh: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        if (intrinsics.width, intrinsics.height) != (self.width, self.height):
            raise RenderError(
                f"the intrinsics are for {intrinsics.width}x{intrinsics.height} but the renderer "
                f"draws {self.width}x{self.height}"
            )
        vertices = np.asarray(vertices, dtype=np.float32)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise RenderError(f"vertices must have shape (N, 3), got {vertices.shape}")
        triangles = np.asarray(triangles)
        if triangles.ndim != 2 or triangles.shape[1] != 3 or not np.issubdtype(triangles.dtype, np.integer):
            raise RenderError(f"triangles must be (T, 3) integers, got {triangles.shape} {triangles.dtype}")
        if triangles.shape[0] > _MAX_TRIANGLES:
            raise RenderError(f"at most {_MAX_TRIANGLES} triangles can be drawn, got {triangles.shape[0]}")
        if triangles.size and (triangles.min() < 0 or triangles.max() >= vertices.shape[0]):
            raise RenderError(f"triangle indices must lie in [0, {vertices.shape[0]})")
        colors = np.asarray(colors, dtype=np.float32)
        if colors.shape != vertices.shape:
            raise RenderError(f"colors must have shape {vertices.shape}, got {colors.shape}")
        if sh is not None:
            sh = np.asarray(sh, dtype=np.float32)
            if sh.shape != (NUM_SH_COEFFS, 3):
                raise RenderError(f"sh must have shape (9, 3), got {sh.shape}")
        return vertices, triangles, colors, sh

    def _topology_of(self, triangles: np.ndarray, num_vertices: int) -> _Topology:
        """The cached topology while the triangle list stays the same, else a new one."""
        if self._topology is None or not self._topology.matches(triangles, num_vertices):
            self._topology = _Topology(triangles, num_vertices)
        return self._topology

    # -- GL objects ---------------------------------------------------------------------------

    def _target(self, ctx: moderngl.Context, name: str) -> moderngl.Renderbuffer:
        if name not in self._targets:
            components = 1 if name == "triangle_id" else 4
            self._targets[name] = ctx.renderbuffer((self.width, self.height), components=components, dtype="f4")
        return self._targets[name]

    def _variant(self, ctx: moderngl.Context, targets: tuple[str, ...]) -> _Variant:
        """The program and framebuffer writing colour and z plus ``targets`` (in order)."""
        variant = self._variants.get(targets)
        if variant is None:
            program = ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader=fragment_shader(targets))
            framebuffer = ctx.framebuffer(
                color_attachments=[self._target(ctx, name) for name in ("rgb_z", *targets)],
                depth_attachment=self._depth_buffer,
            )
            variant = self._variants[targets] = _Variant(program, framebuffer)
        return variant

    def _write_buffer(self, ctx: moderngl.Context, name: str, data: np.ndarray) -> None:
        buffer = self._buffers.setdefault(name, _GrowingBuffer())
        if buffer.write(ctx, data):
            # Vertex arrays bound to the old buffer are stale.
            for vao in self._vaos.values():
                vao.release()
            self._vaos.clear()

    def _vertex_array(self, ctx: moderngl.Context, targets: tuple[str, ...], expanded: bool) -> moderngl.VertexArray:
        key = (targets, expanded)
        vao = self._vaos.get(key)
        if vao is None:
            source = self._buffers["corners" if expanded else "vertices"].buffer
            index = None if expanded else self._buffers["indices"].buffer
            # skip_errors: the compiler drops in_normal when nothing uses it; the layout
            # still steps over those floats.
            vao = self._vaos[key] = ctx.vertex_array(
                self._variants[targets].program,
                [(source, "3f 3f 3f", "in_position", "in_color", "in_normal")],
                index_buffer=index,
                index_element_size=4,
                skip_errors=True,
            )
        return vao

    def _read_target(self, framebuffer: moderngl.Framebuffer, attachment: int, components: int) -> np.ndarray:
        """Read one float32 target into a re-used (H, W, C) array (valid until the next read)."""
        key = (attachment, components)
        buffer = self._read_buffers.get(key)
        if buffer is None:
            buffer = self._read_buffers[key] = np.empty((self.height, self.width, components), dtype=np.float32)
        framebuffer.read_into(buffer, components=components, attachment=attachment, dtype="f4")
        return buffer

    def _read(self, framebuffer: moderngl.Framebuffer, wanted: frozenset[str], targets: tuple[str, ...]) -> RenderResult:
        # cv2.cvtColor(RGBA -> RGB) makes contiguous copies several times faster than NumPy.
        rgb_z = self._read_target(framebuffer, 0, 4)
        depth = np.ascontiguousarray(rgb_z[..., 3])
        mask = depth > 0
        extra: dict[str, np.ndarray] = {}
        for attachment, name in enumerate(targets, start=1):
            if name == "triangle_id":
                extra[name] = self._read_target(framebuffer, attachment, 1)[..., 0].astype(np.int32) - 1
            else:
                extra[name] = cv2.cvtColor(self._read_target(framebuffer, attachment, 4), cv2.COLOR_RGBA2RGB)
        return RenderResult(
            rgb=cv2.cvtColor(rgb_z, cv2.COLOR_RGBA2RGB) if "rgb" in wanted else None,
            depth=depth if "depth" in wanted else None,
            mask=mask,
            triangle_id=extra.get("triangle_id"),
            barycentrics=extra.get("barycentrics"),
            normals=extra.get("normals"),
        )
