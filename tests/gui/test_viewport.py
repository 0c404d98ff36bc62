"""The 3D viewport on its own: drawn off screen into a raster widget, one render per new face,
mouse input reaching the orbit camera, the light following the camera."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt

from capture.synthetic import SyntheticSource
from tests.gui.doubles import GroundTruthPipeline
from ui.viewport import BACKGROUND

pytestmark = pytest.mark.gui

WAIT_MS = 30000


@pytest.fixture(scope="module")
def packets(face_model):
    from ui.benchmark import viewport_packets

    with SyntheticSource(width=320, height=240, seed=3) as source:
        frames = [source.frame_at(i) for i in range(3)]
    truth = GroundTruthPipeline()
    return viewport_packets(frames, [truth.process(frame) for frame in frames])


@pytest.fixture
def viewport(qtbot):
    from ui.viewport import FaceViewport

    view = FaceViewport()
    qtbot.addWidget(view.widget)
    view.widget.resize(480, 360)
    view.widget.show()
    qtbot.waitExposed(view.widget)
    yield view
    view.close()


def shown(widget) -> np.ndarray:
    """(H, W, 3) uint8 of what the widget shows on screen."""
    from PyQt6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    array = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return array.reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()].reshape(
        image.height(), image.width(), 3)


def face_pixels(image: np.ndarray) -> np.ndarray:
    background = np.array(BACKGROUND[:3]) * 255
    return np.abs(image[..., :3].astype(float) - background).max(axis=-1) > 12


def show_and_wait(qtbot, viewport, packet) -> None:
    drawn = viewport.drawn_packets
    viewport.show_packet(packet)
    qtbot.waitUntil(lambda: viewport.drawn_packets > drawn, timeout=WAIT_MS)


def test_the_viewport_is_a_raster_widget_showing_a_lit_face(qtbot, viewport, packets):
    from PyQt6.QtOpenGLWidgets import QOpenGLWidget

    # A QOpenGLWidget would switch its whole window to OpenGL composition (slow without a GPU).
    assert not isinstance(viewport.widget, QOpenGLWidget)
    assert not viewport.widget.findChildren(QOpenGLWidget)
    show_and_wait(qtbot, viewport, packets[0])
    image = shown(viewport.widget)
    mask = face_pixels(image)
    assert 0.05 < mask.mean() < 0.8
    assert image[mask].std() > 10, "shaded, not a flat silhouette"
    assert np.array_equal(mask, face_pixels(viewport.render_image())), "screen and render_image agree"


def test_one_render_per_new_face_and_none_for_plain_repaints(qtbot, viewport, packets):
    show_and_wait(qtbot, viewport, packets[0])
    qtbot.wait(50)
    renders = viewport.renders
    show_and_wait(qtbot, viewport, packets[1])
    qtbot.wait(50)
    assert viewport.renders == renders + 1
    viewport.widget.repaint()  # an expose: the last image is painted again, not re-rendered
    assert viewport.renders == renders + 1
    assert viewport.last_update_ms < viewport.last_draw_ms


def test_dragging_orbits_the_camera_and_the_light_follows(qtbot, viewport, packets):
    show_and_wait(qtbot, viewport, packets[0])
    before = shown(viewport.widget)
    azimuth, renders = viewport.camera.azimuth, viewport.renders
    widget = viewport.widget
    start = QPoint(widget.width() // 2, widget.height() // 2)
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(widget, start + QPoint(30 * step, 0))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=start + QPoint(150, 0))
    qtbot.waitUntil(lambda: viewport.renders > renders, timeout=WAIT_MS)
    assert viewport.camera.azimuth != azimuth
    after = shown(viewport.widget)
    assert (face_pixels(after) != face_pixels(before)).any()
    assert after[face_pixels(after)].std() > 10, "still lit from the viewer's side"
    viewport.reset_camera()
    assert viewport.camera.azimuth == pytest.approx(90.0)


def test_the_wheel_zooms(qtbot, viewport, packets):
    from PyQt6.QtCore import QPointF
    from PyQt6.QtGui import QWheelEvent
    from PyQt6.QtWidgets import QApplication

    show_and_wait(qtbot, viewport, packets[0])
    scale = viewport.camera.scale_factor
    centre = QPointF(viewport.widget.width() / 2, viewport.widget.height() / 2)
    event = QWheelEvent(centre, viewport.widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(viewport.widget, event)
    assert viewport.camera.scale_factor < scale


def test_the_status_bar_shows_frame_rate_latency_and_dropped_frames(qtbot, make_window):
    import re

    window = make_window()
    start = window.viewport.drawn_packets
    qtbot.waitUntil(lambda: window.viewport.drawn_packets >= start + 5, timeout=WAIT_MS)
    window._update_status()
    text = window.status.text()
    fps = re.search(r"(\d+\.\d) fps", text)
    assert fps and float(fps.group(1)) > 0, text
    assert re.search(r"latency +\d+ ms", text), text
    assert re.search(r"dropped \d+", text), text


def test_the_eyeballs_turn_with_the_gaze(qtbot, viewport, face_model):
    """The iris caps move across the image as the gaze turns (to the subject's left: image right)."""
    from dataclasses import replace

    from ui.benchmark import viewport_packets

    with SyntheticSource(width=320, height=240, seed=3) as source:
        frame = source.frame_at(0)
    result = GroundTruthPipeline().process(frame)
    images = []
    for yaw in (-0.45, 0.45):
        turned = replace(result, gaze=np.full((2, 2), [yaw, 0.0], np.float32))
        packet = viewport_packets([frame], [turned])[0]
        assert packet.eyes is not None and len(packet.eyes.iris.faces) > 100
        show_and_wait(qtbot, viewport, packet)
        images.append(viewport.render_image()[..., :3].astype(float))
    changed = np.abs(images[1] - images[0]).max(axis=-1) > 40
    assert 10 < changed.sum() < 0.02 * changed.size, "only the eyes change"
    centroids = []
    for image in images:
        iris = changed & (image.sum(axis=-1) < 250)  # the dark iris where the two views differ
        assert iris.sum() > 5
        centroids.append(np.argwhere(iris)[:, 1].mean())
    assert centroids[1] - centroids[0] > 1.0
