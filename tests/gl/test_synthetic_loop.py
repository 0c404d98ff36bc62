"""The embedded source's rendered loop: rendered once in a child process, cached, played
forwards and backwards with each frame's ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capture.registry import open_source
from capture.synthetic import SyntheticSource
from models.synthetic.loop import DEFAULT_LOOP_FRAMES, DEPTH_UNIT_M

pytestmark = pytest.mark.gl

SIZE = {"width": 128, "height": 96}


def test_loop_frames_are_the_live_frames_played_forwards_and_backwards(tmp_path: Path) -> None:
    folder = tmp_path / "loop"
    with SyntheticSource(seed=4, loop=5, loop_folder=folder, **SIZE) as looped, \
            SyntheticSource(seed=4, **SIZE) as live:
        assert looped.loop is not None
        shown = []
        for index in range(12):
            frame = looped.frame_at(index)
            assert frame.index == index and frame.timestamp == pytest.approx(index / 30)
            k = [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3][index]
            truth = live.frame_at(k)
            np.testing.assert_array_equal(frame.ground_truth.vertices, truth.ground_truth.vertices)
            np.testing.assert_array_equal(frame.ground_truth.expression, truth.ground_truth.expression)
            np.testing.assert_array_equal(frame.ground_truth.rotation, truth.ground_truth.rotation)
            assert np.abs(frame.rgb.astype(int) - truth.rgb).mean() < 5  # JPEG quality 95
            valid = np.isfinite(truth.depth) & (truth.depth > 0)
            np.testing.assert_array_equal(frame.depth > 0, valid)
            assert np.abs(frame.depth[valid] - truth.depth[valid]).max() <= DEPTH_UNIT_M / 2 + 1e-6
            shown.append(k)
        assert looped.loop.wait(120)
        np.testing.assert_array_equal(looped.frame_at(13).ground_truth.vertices,
                                      live.frame_at(3).ground_truth.vertices)  # played back now
    assert (folder / "vertices.npy").is_file()  # complete: cached
    with SyntheticSource(seed=4, loop=5, loop_folder=folder, **SIZE) as again:
        assert again.loop.ready == 5  # from the cache, no render process
        np.testing.assert_array_equal(again.frame_at(6).rgb, looped_rgb_at(folder, 2))


def looped_rgb_at(folder: Path, k: int) -> np.ndarray:
    with SyntheticSource(seed=4, loop=5, loop_folder=folder, **SIZE) as source:
        return source.frame_at(k).rgb


def test_an_interrupted_render_leaves_no_cache(tmp_path: Path) -> None:
    folder = tmp_path / "loop"
    source = SyntheticSource(seed=5, loop=200, loop_folder=folder, **SIZE)
    source.open()
    source.frame_at(0)
    source.close()
    assert not folder.exists() and not list(tmp_path.glob("loop.partial-*"))


def test_the_source_spec_plays_a_loop_unless_loop_is_0() -> None:
    assert open_source("synthetic:seed=3").loop.length == DEFAULT_LOOP_FRAMES
    assert open_source("synthetic:loop=0").loop is None
