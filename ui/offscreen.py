"""A VisPy scene drawn off screen and shown in a plain (raster) Qt widget.

Why not VisPy's own Qt widget: a ``QOpenGLWidget`` switches its whole top-level window to
OpenGL composition. Every repaint then re-composes the full window (1480x900: toolbars,
docks, plots) through OpenGL and swaps it; with Mesa's software rasteriser (2 cores) a frame
of the window cost 26-34 ms with nothing else running, and the window showed about 10 fps
of a 30 fps source. Here the scene is drawn into a framebuffer object on a private offscreen
OpenGL context, read back (one ``glReadPixels``, 2.5 MB at 1000x620) and painted as an
image: the window stays a raster window, only the viewport's rectangle is flushed, and a
repaint that is not a new frame (an expose) costs a copy, not a render.

:class:`OffscreenCanvas` is a ``SceneCanvas`` whose native widget is never shown; its
``update()`` asks :class:`SceneWidget` to repaint. :class:`SceneWidget` renders in its
``paintEvent`` when the scene changed (a new face, a camera move, a resize) and otherwise
repaints the last image, and forwards mouse, wheel and key events to the canvas (the orbit
camera).
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable

import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QImage, QOffscreenSurface, QOpenGLContext, QPainter, QSurfaceFormat
from PyQt6.QtWidgets import QWidget
from vispy import gloo, scene
from vispy.gloo import gl

from models.errors import FaceFromXError

log = logging.getLogger(__name__)

_GL_BGRA = 0x80E1  # bytes B, G, R, A: Qt's 0xAARRGGBB words on little-endian machines
_GL_UNSIGNED_BYTE = 0x1401
_GL_DEPTH_COMPONENT24 = 0x81A6  # VisPy's own "depth" render buffers have 16 bits


class OffscreenCanvas(scene.SceneCanvas):
    """A ``SceneCanvas`` drawn into a framebuffer object; ``on_update`` is called on each update."""

    def __init__(self, on_update: Callable[[], None] | None = None, **kwargs):
        self._on_update = None
        super().__init__(app="pyqt6", show=False, keys=None, **kwargs)
        self._on_update = on_update

    def update(self, node=None):
        super().update(node)
        if self._on_update is not None:
            self._on_update()


class SceneWidget(QWidget):
    """Shows :attr:`canvas` (an :class:`OffscreenCanvas`) and feeds it the widget's input.

    Args:
        before_draw: called (GL context current) before each render; its time counts in
            :attr:`last_update_ms`.
        after_draw: called once the image of a render has been painted into the window.
        bgcolor: RGBA background of the scene.

    Attributes:
        last_update_ms: ``before_draw`` (uploads, pose) of the last render.
        last_draw_ms: the whole last render, read-back included (the GL work is finished).
        last_paint_ms: the last paint event that rendered: the render and the image painted.
    """

    def __init__(self, before_draw: Callable[[], None], after_draw: Callable[[], None],
                 bgcolor=(0.0, 0.0, 0.0, 1.0), parent: QWidget | None = None):
        super().__init__(parent)
        self._before_draw, self._after_draw = before_draw, after_draw
        self._background = QColor.fromRgbF(*bgcolor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.WheelFocus)
        self.setMinimumSize(320, 240)
        self.canvas: OffscreenCanvas | None = None
        self._fbo: gloo.FrameBuffer | None = None
        self._fbo_size: tuple[int, int] = (0, 0)
        self._pixels: np.ndarray | None = None  # (h, w, 4) uint8 BGRA as read, bottom row first
        self._shown: np.ndarray | None = None  # the same, top row first: the image's memory
        self._image: QImage | None = None
        self._dirty = True
        self._rendering = False
        self._read_pixels = None
        self.last_update_ms = 0.0
        self.last_draw_ms = 0.0
        self.last_paint_ms = 0.0
        self._context = QOpenGLContext(self)
        fmt = QSurfaceFormat()
        fmt.setRenderableType(QSurfaceFormat.RenderableType.OpenGL)
        self._context.setFormat(fmt)
        if not self._context.create():
            raise FaceFromXError("cannot create an OpenGL context for the 3D view")
        self._surface = QOffscreenSurface(None, self)
        self._surface.setFormat(self._context.format())
        self._surface.create()
        self.make_current()
        self.canvas = OffscreenCanvas(on_update=self.update_scene, bgcolor=bgcolor, size=(320, 240))
        self.make_current()  # the canvas made its own (unused) context current

    # -- drawing --------------------------------------------------------------------------------

    def make_current(self) -> None:
        if not self._context.makeCurrent(self._surface):
            raise FaceFromXError("cannot make the 3D view's OpenGL context current")

    def update_scene(self) -> None:
        """The scene changed: render it at the next paint (changes made while rendering are in it)."""
        if not self._rendering and self.canvas is not None:
            self._dirty = True
            self.update()

    def physical_size(self) -> tuple[int, int]:
        ratio = self.devicePixelRatioF()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    def render(self) -> None:
        """Draw the scene into the framebuffer object and read it back for the next paint.

        Updates that the drawing itself asks for (new data, transforms) are part of this image.
        """
        self._rendering = True
        try:
            self._render()
        finally:
            self._rendering = False

    def _render(self) -> None:
        start = time.perf_counter()
        self.make_current()
        self.canvas.set_current()  # VisPy's current canvas: where gloo objects send commands
        self._before_draw()
        self.last_update_ms = (time.perf_counter() - start) * 1000.0
        width, height = self.physical_size()
        if self._fbo is None or self._fbo_size != (width, height):
            self._fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((height, width, 4)),
                                         depth=gloo.RenderBuffer((height, width), _GL_DEPTH_COMPONENT24))
            self._fbo_size = (width, height)
            self._pixels = np.empty((height, width, 4), np.uint8)
            self._shown = np.empty((height, width, 4), np.uint8)
            # The image borrows the array's memory; both live until the next resize.
            self._image = QImage(sip.voidptr(self._shown.ctypes.data), width, height, 4 * width,
                                 QImage.Format.Format_RGB32)
            self._image.setDevicePixelRatio(self.devicePixelRatioF())
        # The framebuffer object covers the whole canvas, so the canvas's transforms hold as they
        # are (push_fbo would recompute them twice per frame).
        canvas, fbo = self.canvas, self._fbo
        fbo.activate()
        try:
            canvas.context.set_viewport(0, 0, width, height)
            canvas._draw_scene()
            canvas.context.flush_commands()
            self._read_into(self._pixels)
        finally:
            fbo.deactivate()
        np.copyto(self._shown, self._pixels[::-1])  # glReadPixels fills rows bottom-up
        self._dirty = False
        self.last_draw_ms = (time.perf_counter() - start) * 1000.0

    def _read_into(self, out: np.ndarray) -> None:
        if self._read_pixels is None:
            address = self._context.getProcAddress(b"glReadPixels")
            if not address:
                raise FaceFromXError("the OpenGL driver has no glReadPixels")
            prototype = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p)
            self._read_pixels = prototype(int(address))
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
        height, width = out.shape[:2]
        self._read_pixels(0, 0, width, height, _GL_BGRA, _GL_UNSIGNED_BYTE, out.ctypes.data)

    def grab_scene(self) -> np.ndarray:
        """(H, W, 4) uint8 RGBA of the scene drawn now (its own framebuffer; for tests, snapshots)."""
        self.make_current()
        return self.canvas.render(alpha=True)

    def paintEvent(self, event) -> None:
        start = time.perf_counter()
        rendered = self._dirty and self.canvas is not None and self.width() > 0 and self.height() > 0
        if rendered:
            try:
                self.render()
            except Exception:  # a drawing bug must not take the window down (Qt aborts); it is logged
                log.exception("the 3D view could not be drawn")
                self._dirty = rendered = False
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), self._background)
        else:
            painter.drawImage(0, 0, self._image)
        painter.end()
        if rendered:
            self.last_paint_ms = (time.perf_counter() - start) * 1000.0
            self._after_draw()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.canvas is None:
            return
        width, height = self.width(), self.height()
        self.canvas.native.resize(width, height)
        physical = self.physical_size()
        self.canvas._backend._vispy_set_physical_size(*physical)
        self.canvas.events.resize(size=(width, height), physical_size=physical)
        self.update_scene()

    def close_canvas(self) -> None:
        """Release the canvas and its hidden native widget (it has no Qt parent to do it)."""
        if self.canvas is None:
            return
        canvas, self.canvas = self.canvas, None
        self.make_current()
        self._fbo = None
        native = canvas.native
        canvas.close()
        native.deleteLater()
        self._context.doneCurrent()

    # -- input: the canvas's native widget translates Qt events into VisPy events ----------------

    def _forward(self, name: str, event) -> None:
        if self.canvas is not None:
            getattr(self.canvas.native, name)(event)

    def mousePressEvent(self, event) -> None:
        self._forward("mousePressEvent", event)

    def mouseReleaseEvent(self, event) -> None:
        self._forward("mouseReleaseEvent", event)

    def mouseDoubleClickEvent(self, event) -> None:
        self._forward("mouseDoubleClickEvent", event)

    def mouseMoveEvent(self, event) -> None:
        self._forward("mouseMoveEvent", event)

    def wheelEvent(self, event) -> None:
        self._forward("wheelEvent", event)

    def keyPressEvent(self, event) -> None:
        self._forward("keyPressEvent", event)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        self._forward("keyReleaseEvent", event)
        super().keyReleaseEvent(event)
