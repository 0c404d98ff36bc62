"""pyqtgraph image previews: the colour image with the face crop and projected landmarks, and
the colour-mapped depth map. Both show a packet's ready-made images (see :mod:`ui.packet`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF

from ui.packet import DisplayPacket

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

DEPTH_COLOUR_MAP = "viridis"
DEFAULT_IMAGE_SIZE = (640, 480)  # (width, height) pixels shown before the first frame


def depth_lookup_table() -> np.ndarray:
    """(256, 3) uint8 colours of the depth preview (near: yellow, far: dark blue)."""
    return pg.colormap.get(DEPTH_COLOUR_MAP).getLookupTable(1.0, 0.0, 256, alpha=False)


class ImagePreview(pg.GraphicsLayoutWidget):
    """An image in pixel coordinates (y down), aspect kept; says ``placeholder`` when empty."""

    def __init__(self, placeholder: str, parent=None):
        super().__init__(parent=parent)
        self.setBackground((30, 32, 36))
        self.box = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.box.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.box.addItem(self.image)
        self.label = pg.TextItem(placeholder, color=(160, 160, 160), anchor=(0.5, 0.5))
        self.box.addItem(self.label)
        self._size: tuple[int, int] | None = None
        self.setMinimumSize(160, 120)
        # Centred on a default grid until the first frame says the image size (the label's
        # position is in image pixels: at the origin it would be drawn half off the view).
        self.set_image(None, DEFAULT_IMAGE_SIZE)

    def set_image(self, image: np.ndarray | None, size: tuple[int, int]) -> None:
        """Show ``image`` (h, w, 3) uint8 stretched over a ``size`` = (width, height) pixel grid."""
        if image is None:
            self.image.clear()
            self.label.setPos(size[0] / 2, size[1] / 2)
            self.label.setVisible(True)
        else:
            self.label.setVisible(False)
            self.image.setImage(image, autoLevels=False)
            self.image.setRect(QRectF(0, 0, size[0], size[1]))
        if size != self._size:
            self._size = size
            self.box.setRange(QRectF(0, 0, size[0], size[1]), padding=0)


class RgbPreview(ImagePreview):
    """The source colour image, the face crop (yellow) and the 68 landmarks (green)."""

    def __init__(self, parent=None):
        super().__init__("no colour image", parent)
        self.crop = pg.PlotCurveItem(pen=pg.mkPen((250, 210, 60), width=2))
        self.landmarks = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(80, 255, 120, 220))
        self.box.addItem(self.crop)
        self.box.addItem(self.landmarks)

    def show_packet(self, packet: DisplayPacket) -> None:
        self.set_image(packet.rgb, packet.image_size)
        if packet.crop_outline is not None:
            self.crop.setData(packet.crop_outline[:, 0], packet.crop_outline[:, 1])
            self.crop.setVisible(True)
        else:
            self.crop.setVisible(False)
        if packet.landmarks_2d is not None:
            self.landmarks.setData(packet.landmarks_2d[:, 0], packet.landmarks_2d[:, 1])
            self.landmarks.setVisible(True)
            self.landmarks.setOpacity(1.0 if packet.found else 0.35)
        else:
            self.landmarks.setVisible(False)


class DepthPreview(ImagePreview):
    """The depth map through a colour map around the face's distance (black: no depth)."""

    def __init__(self, parent=None):
        super().__init__("no depth", parent)

    def show_packet(self, packet: DisplayPacket) -> None:
        self.set_image(packet.depth_rgb, packet.image_size)
