"""The 3D viewport: the shaded face mesh, an optional wireframe and input point cloud, an
orbit camera, and a head-stabilised view. VisPy inside a Qt widget (:attr:`FaceViewport.widget`).

Packets arrive in the scene frame (y up, see :mod:`ui.scene_data`). :meth:`FaceViewport.show`
only stores the newest packet and asks for a paint; the data goes to the GPU in the draw
handler, so ``MeshVisual.set_data`` runs at most once per paint whatever the packet rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from vispy import gloo, scene
from vispy.geometry import MeshData
from vispy.visuals import MeshVisual
from vispy.visuals.filters import ShadingFilter, WireframeFilter
from vispy.visuals.shaders import Function
from vispy.visuals.transforms import MatrixTransform

from ui.packet import DisplayPacket
from ui.scene_data import MeshArrays

BACKGROUND = (0.13, 0.14, 0.16, 1.0)
SKIN = (0.86, 0.70, 0.60, 1.0)
POINTS = (0.35, 0.85, 1.0, 0.9)
# The light comes from above, left and in front of the viewer (camera coordinates), and
# turns with the orbit camera.
HEADLIGHT = (0.45, -0.55, -1.0, 0.0)
VIEW_EXTENT_M = 0.36  # what the reset camera frames: a face with some margin
# With up = +y, VisPy's turntable looks along +x at azimuth 0; at 90 it looks down -z from the
# +z side, like the capture camera (scene right = screen right, no mirroring).
FRONT_AZIMUTH = 90.0
FIELD_OF_VIEW_DEG = 30.0


class PreparedMeshData(MeshData):
    """MeshData whose face-indexed arrays were computed off the GUI thread."""

    def __init__(self, arrays: MeshArrays):
        super().__init__(vertices=arrays.vertices, faces=arrays.faces)
        self.arrays = arrays

    def get_vertices(self, indexed=None):
        if indexed == "faces":
            return self.arrays.corners
        return super().get_vertices(indexed)

    def get_vertex_normals(self, indexed=None):
        if indexed == "faces":
            return self.arrays.corner_normals
        return self.arrays.normals

    def get_bounds(self):
        vertices = self.arrays.vertices
        return [(float(lo), float(hi)) for lo, hi in zip(vertices.min(axis=0), vertices.max(axis=0), strict=True)]


class FaceMeshVisual(MeshVisual):
    """A MeshVisual that keeps one shader function for its uniform colour.

    VisPy's MeshVisual builds a new colour-transform function on every data update, which
    relinks the shader program each frame; with a uniform colour the function never changes.
    """

    _identity_transform: Function | None = None

    def _build_color_transform(self, colors):
        if colors.ndim == 1:
            if self._identity_transform is None:
                self._identity_transform = Function("vec4 pass(vec4 color) { return color; }")
            return self._identity_transform
        return super()._build_color_transform(colors)


FaceMesh = scene.visuals.create_visual_node(FaceMeshVisual)


class FaceViewport:
    """The VisPy canvas with the face.

    Args:
        parent: the Qt widget that will hold :attr:`widget`.
        on_drawn: called on the GUI thread with each packet once it has been drawn.
    """

    def __init__(self, parent=None, on_drawn: Callable[[DisplayPacket], None] | None = None):
        # autoswap off: Qt composes a QOpenGLWidget's framebuffer itself; VisPy's extra buffer
        # swap only costs time (tens of milliseconds per frame with software OpenGL).
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, parent=parent, app="pyqt6",
                                        autoswap=False, show=False)
        self.canvas.native.setMinimumSize(320, 240)
        self.view = self.canvas.central_widget.add_view()
        self.camera = scene.TurntableCamera(fov=FIELD_OF_VIEW_DEG, up="+y", azimuth=FRONT_AZIMUTH,
                                           elevation=0.0)
        self.view.camera = self.camera
        self.model_node = scene.Node(parent=self.view.scene)
        self.model_node.transform = MatrixTransform()
        # A degenerate placeholder until the first face (the shading filter needs data).
        self.mesh = FaceMesh(vertices=np.zeros((3, 3), np.float32), faces=np.array([[0, 1, 2]], np.uint32),
                             color=SKIN, parent=self.model_node)
        self.mesh.set_gl_state("opaque", depth_test=True, cull_face=False)  # skin: no blending
        self.mesh.visible = False
        self.shading = ShadingFilter(shading="smooth", ambient_light=(1, 1, 1, 0.28),
                                     diffuse_light=(1, 1, 1, 0.85), specular_light=(1, 1, 1, 0.12),
                                     shininess=24)
        self.mesh.attach(self.shading)
        self.wireframe = WireframeFilter(color=(0.12, 0.12, 0.12, 1.0), width=0.6)
        self.points = scene.visuals.Markers(parent=self.model_node)
        self.points.visible = False
        self.on_drawn = on_drawn
        self.stabilized = False
        self.show_points = False
        self.show_wireframe = False
        self.drawn_packets = 0
        self.last_update_ms = 0.0  # set_data and friends, CPU side
        self.last_draw_ms = 0.0  # the whole draw handler; GPU work included when finish_draws
        self.finish_draws = False  # benchmarks: wait for the GPU at the end of each draw
        self._draw_started = 0.0
        self._pending: DisplayPacket | None = None
        self._current: DisplayPacket | None = None
        self._centred = False
        self.camera.scale_factor = VIEW_EXTENT_M
        self._light_from: np.ndarray | None = None
        self.canvas.events.draw.connect(self._on_draw, position="first")
        self.canvas.events.draw.connect(self._after_draw, position="last")

    @property
    def widget(self):
        """The Qt widget (a QOpenGLWidget) to put in a layout."""
        return self.canvas.native

    # -- input ----------------------------------------------------------------------------------

    def show_packet(self, packet: DisplayPacket) -> None:
        """Draw ``packet`` at the next paint (a newer packet before then replaces it)."""
        self._pending = packet
        self.canvas.update()

    def set_wireframe(self, on: bool) -> None:
        if on != self.show_wireframe:
            self.show_wireframe = on
            (self.mesh.attach if on else self.mesh.detach)(self.wireframe)
            self.canvas.update()

    def set_point_cloud(self, on: bool) -> None:
        self.show_points = on
        self.points.visible = on and self._current is not None and self._current.points is not None
        self.canvas.update()

    def set_stabilized(self, on: bool) -> None:
        """Show the face in the head frame (head pose cancelled) or in the camera frame."""
        self.stabilized = on
        if self._current is not None:
            self._apply_pose(self._current)
        self.reset_camera()

    def reset_camera(self) -> None:
        """Look at the face from the front (the capture camera's side), framing it."""
        self.camera.azimuth, self.camera.elevation, self.camera.roll = FRONT_AZIMUTH, 0.0, 0.0
        self.camera.scale_factor = VIEW_EXTENT_M
        if self._current is not None and self._current.mesh is not None:
            self.camera.center = tuple(self._scene_point(self._current.mesh.centre))
            self._centred = True
        self.canvas.update()

    def recentre(self) -> None:
        """Frame the next face drawn (a new source: the face may be elsewhere)."""
        self._centred = False

    # -- drawing --------------------------------------------------------------------------------

    def _scene_point(self, point: np.ndarray) -> np.ndarray:
        return self.model_node.transform.map(np.append(point, 1.0))[:3]

    def _apply_pose(self, packet: DisplayPacket) -> None:
        transform = self.model_node.transform
        if self.stabilized and packet.head_from_view is not None:
            transform.matrix = packet.head_from_view.T  # VisPy maps row vectors
        else:
            transform.reset()

    def _on_draw(self, event) -> None:
        self._draw_started = start = time.perf_counter()
        self._follow_light()
        packet, self._pending = self._pending, None
        if packet is None:
            return
        self._current = packet
        self._apply_pose(packet)
        if packet.mesh is not None:
            self.mesh.set_data(meshdata=PreparedMeshData(packet.mesh))
            self.mesh.visible = True
            if not self._centred:
                self.reset_camera()
        else:
            self.mesh.visible = False
        if self.show_points and packet.points is not None and len(packet.points):
            self.points.set_data(packet.points, size=2.5, edge_width=0, face_color=POINTS)
            self.points.visible = True
        else:
            self.points.visible = False
        self.last_update_ms = (time.perf_counter() - start) * 1000.0
        self.drawn_packets += 1
        if self.on_drawn is not None:
            self.on_drawn(packet)

    def _after_draw(self, event) -> None:
        if self.finish_draws:
            gloo.gl.glFinish()
        self.last_draw_ms = (time.perf_counter() - self._draw_started) * 1000.0

    def _follow_light(self) -> None:
        """Keep the light fixed relative to the camera (a head light), whatever the orbit."""
        rotation = self.camera.transform.matrix[:3, :3]
        if self._light_from is None or not np.array_equal(rotation, self._light_from):
            self._light_from = rotation.copy()
            direction = self.camera.transform.map(HEADLIGHT)[:3]
            self.shading.light_dir = direction / max(float(np.linalg.norm(direction)), 1e-9)

    # -- inspection -----------------------------------------------------------------------------

    def render_image(self) -> np.ndarray:
        """(H, W, 4) uint8 RGBA of the scene as drawn now (for tests and snapshots)."""
        return self.canvas.render(alpha=True)

    def close(self) -> None:
        self.canvas.close()
