"""The image previews' placeholder text is drawn whole and centred, before and after frames."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _text_box(widget) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels brighter than the background in a grab."""
    image = widget.grab().toImage()
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    grey = data.reshape(height, image.bytesPerLine())[:, : width * 4].reshape(height, width, 4)[..., :3].max(-1)
    rows, cols = np.nonzero(grey > 90)
    assert cols.size, "the placeholder is not drawn"
    return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


@pytest.mark.parametrize("size", [(440, 330), (200, 150)])
def test_placeholder_is_centred_before_the_first_frame(qtbot, size):
    from ui.previews import RgbPreview

    preview = RgbPreview()
    qtbot.addWidget(preview)
    preview.resize(*size)
    preview.show()
    qtbot.waitExposed(preview)
    qtbot.wait(50)
    left, top, right, bottom = _text_box(preview)
    width, height = preview.width(), preview.height()
    assert left > 4 and right < width - 5, "the text must not be cut at either side"
    assert abs(left - (width - 1 - right)) <= 6, (left, right, width)
    assert abs(top - (height - 1 - bottom)) <= 8, (top, bottom, height)
