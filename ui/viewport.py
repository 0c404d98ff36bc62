"""The 3D viewport: the shaded face mesh, an optional wireframe and input point cloud, an
orbit camera, and a head-stabilised view. A VisPy scene shown in a Qt widget
(:attr:`FaceViewport.widget`, drawn off screen: see :mod:`ui.offscreen`).

Packets arrive in the scene frame (y up, see :mod:`ui.scene_data`). :meth:`FaceViewport.show_packet`
only stores the newest packet and asks for a paint; the data goes to OpenGL when the widget
paints, so the mesh is uploaded at most once per paint whatever the packet rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from vispy import scene
from vispy.visuals.transforms import MatrixTransform

from ui.mesh_visual import FaceMesh, FaceWireframe
from ui.offscreen import SceneWidget
from ui.packet import DisplayPacket

BACKGROUND = (0.13, 0.14, 0.16, 1.0)
SKIN = (0.86, 0.70, 0.60, 1.0)
POINTS = (0.35, 0.85, 1.0, 0.9)
WIREFRAME = (0.12, 0.12, 0.12, 1.0)
SCLERA = (0.92, 0.90, 0.86, 1.0)
IRIS = (0.22, 0.14, 0.08, 1.0)
# The light comes from above, left and in front of the viewer (camera coordinates), and
# turns with the orbit camera.
HEADLIGHT = (0.45, -0.55, -1.0, 0.0)
VIEW_EXTENT_M = 0.36  # what the reset camera frames: a face with some margin
# With up = +y, VisPy's turntable looks along +x at azimuth 0; at 90 it looks down -z from the
# +z side, like the capture camera (scene right = screen right, no mirroring).
FRONT_AZIMUTH = 90.0
FIELD_OF_VIEW_DEG = 30.0
# Far / near clipping distance ratio (VisPy's default, 1e6, leaves too little depth precision
# for the nostrils, lips and ears: they flickered). Near is the viewing distance / 20.
DEPTH_RANGE_RATIO = 400.0


class FaceViewport:
    """The VisPy scene with the face.

    Args:
        parent: the Qt widget that will hold :attr:`widget`.
        on_drawn: called on the GUI thread with each packet once it has been drawn.
    """

    def __init__(self, parent=None, on_drawn: Callable[[DisplayPacket], None] | None = None):
        self.scene_widget = SceneWidget(self._on_draw, self._after_draw, bgcolor=BACKGROUND, parent=parent)
        self.canvas = self.scene_widget.canvas
        self.view = self.canvas.central_widget.add_view()
        self.camera = scene.TurntableCamera(fov=FIELD_OF_VIEW_DEG, up="+y", azimuth=FRONT_AZIMUTH,
                                           elevation=0.0)
        self.camera.depth_value = DEPTH_RANGE_RATIO
        self.view.camera = self.camera
        self.model_node = scene.Node(parent=self.view.scene)
        self.model_node.transform = MatrixTransform()
        self.mesh = FaceMesh(color=SKIN, ambient=0.28, diffuse=0.85, specular=0.12, shininess=24.0,
                             parent=self.model_node)
        self.mesh.visible = False
        # the eyeballs, turned with the gaze: the white, and the iris cap
        self.sclera = FaceMesh(color=SCLERA, ambient=0.35, diffuse=0.7, specular=0.3, shininess=40.0,
                               parent=self.model_node)
        self.iris = FaceMesh(color=IRIS, ambient=0.35, diffuse=0.7, specular=0.3, shininess=40.0,
                             parent=self.model_node)
        self.sclera.visible = self.iris.visible = False
        self.wireframe = FaceWireframe(color=WIREFRAME, parent=self.model_node)
        self.wireframe.visible = False
        self.points = scene.visuals.Markers(parent=self.model_node)
        # Blended colour, but the alpha channel stays opaque (the view is read back as RGB32).
        self.points.set_gl_state("translucent", blend_func=("src_alpha", "one_minus_src_alpha", "one",
                                                            "one_minus_src_alpha"))
        self.points.visible = False
        self.on_drawn = on_drawn
        self.stabilized = False
        self.show_points = False
        self.show_wireframe = False
        self.drawn_packets = 0
        self.renders = 0  # images drawn (new packets, camera moves, resizes)
        self._drawn: DisplayPacket | None = None
        self._pending: DisplayPacket | None = None
        self._current: DisplayPacket | None = None
        self._centred = False
        self.camera.scale_factor = VIEW_EXTENT_M
        self._light_key: tuple[bytes, bytes] | None = None

    @property
    def widget(self) -> SceneWidget:
        """The Qt widget to put in a layout."""
        return self.scene_widget

    @property
    def last_update_ms(self) -> float:
        """The last draw's CPU-side update (uploads of the new face, pose, light), ms."""
        return self.scene_widget.last_update_ms

    @property
    def last_draw_ms(self) -> float:
        """The last draw, OpenGL work and read-back included (the image is ready), ms."""
        return self.scene_widget.last_draw_ms

    @property
    def last_paint_ms(self) -> float:
        """The last paint that drew: the draw plus painting its image into the window, ms."""
        return self.scene_widget.last_paint_ms

    # -- input ----------------------------------------------------------------------------------

    def show_packet(self, packet: DisplayPacket) -> None:
        """Draw ``packet`` at the next paint (a newer packet before then replaces it)."""
        self._pending = packet
        self.canvas.update()

    def set_wireframe(self, on: bool) -> None:
        if on != self.show_wireframe:
            self.show_wireframe = on
            if on and self._current is not None and self._current.mesh is not None:
                self.wireframe.set_data(self._current.mesh.vertices, self._current.mesh.faces)
            self.wireframe.visible = on and self.mesh.visible
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

    def _on_draw(self) -> None:
        """Before a draw: the newest packet's data to OpenGL, the light to the camera."""
        packet, self._pending = self._pending, None
        self._drawn = packet
        if packet is None:
            self._follow_light()
            return
        self._current = packet
        self._apply_pose(packet)
        mesh = packet.mesh
        if mesh is not None:
            self.mesh.set_data(mesh.vertices, mesh.normals, mesh.faces)
            if self.show_wireframe:
                self.wireframe.set_data(mesh.vertices, mesh.faces)
            self.mesh.visible = True
            if not self._centred:
                self.reset_camera()
        else:
            self.mesh.visible = False
        eyes = packet.eyes if mesh is not None else None
        if eyes is not None:
            self.sclera.set_data(eyes.sclera.vertices, eyes.sclera.normals, eyes.sclera.faces)
            self.iris.set_data(eyes.iris.vertices, eyes.iris.normals, eyes.iris.faces)
        self.sclera.visible = self.iris.visible = eyes is not None
        self.wireframe.visible = self.show_wireframe and self.mesh.visible
        self._follow_light()
        if self.show_points and packet.points is not None and len(packet.points):
            self.points.set_data(packet.points, size=2.5, edge_width=0, face_color=POINTS)
            self.points.visible = True
        else:
            self.points.visible = False

    def _after_draw(self) -> None:
        self.renders += 1
        packet, self._drawn = self._drawn, None
        if packet is not None:
            self.drawn_packets += 1
            if self.on_drawn is not None:
                self.on_drawn(packet)

    def _follow_light(self) -> None:
        """Keep the light fixed relative to the camera (a head light), whatever the orbit.

        The light and viewing directions go from the camera's frame to the scene's, then into
        the mesh's own frame (the head frame when stabilised).
        """
        camera = self.camera.transform.matrix[:3, :3]
        model = self.model_node.transform.matrix[:3, :3]
        key = (camera.tobytes(), model.tobytes())
        if key == self._light_key:
            return
        self._light_key = key
        # VisPy maps row vectors (p' = p @ M); the model's linear part is a rotation.
        to_model = np.linalg.inv(model)
        light = np.asarray(HEADLIGHT[:3]) @ camera @ to_model
        eye = np.array([0.0, 0.0, -1.0]) @ camera @ to_model
        for visual in (self.mesh, self.sclera, self.iris):
            visual.set_light(light, eye)

    # -- inspection -----------------------------------------------------------------------------

    def render_image(self) -> np.ndarray:
        """(H, W, 4) uint8 RGBA of the scene as drawn now (for tests and snapshots)."""
        return self.scene_widget.grab_scene()

    def close(self) -> None:
        self.scene_widget.close_canvas()
