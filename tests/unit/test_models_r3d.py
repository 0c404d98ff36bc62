"""models.r3d on its own: the reader decodes what the app's recorder writes, with models' errors."""

from __future__ import annotations

import numpy as np
import pytest

from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd, write_synthetic_take
from models.errors import FaceFromXError
from models.r3d import R3DError, R3DReader


def test_reader_decodes_frames_on_the_depth_grid(tmp_path):
    path = write_synthetic_take(tmp_path / "t.r3d", 3, 64, 48, depth_size=(32, 24))
    with R3DReader.open(path) as reader:
        assert (reader.num_frames, reader.has_rgb, reader.has_depth, reader.grid) == (3, True, True, (32, 24))
        assert not reader.recovered
        frame = reader.frame_at(2)
        assert frame.rgb.shape == (24, 32, 3) and frame.depth.shape == (24, 32)
        assert frame.intrinsics == synthetic_intrinsics(64, 48).scaled(32, 24)
        expected = synthetic_rgbd(2, 64, 48, (32, 24))[1]
        np.testing.assert_array_equal(frame.depth, np.where(np.isfinite(expected) & (expected > 0), expected, 0))
        with pytest.raises(IndexError):
            reader.frame_at(3)


def test_reader_errors_are_one_line_r3d_errors(tmp_path):
    (tmp_path / "bad.r3d").write_bytes(b"not a zip")
    with pytest.raises(R3DError, match="is not a zip archive") as info:
        R3DReader.open(tmp_path / "bad.r3d")
    assert isinstance(info.value, FaceFromXError) and "\n" not in str(info.value)
    with pytest.raises(R3DError, match="no such file"):
        R3DReader.open(tmp_path / "missing.r3d")
