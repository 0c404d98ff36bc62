"""The Qt-free pieces of the window: scene-frame geometry, playback control, rates."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from capture.synthetic import SyntheticSource
from models.camera import Intrinsics
from ui.playback import ControlledSource
from ui.rates import RateMeter
from ui.scene_data import head_from_view, mesh_arrays, point_cloud, view_from_opencv

pytestmark = pytest.mark.gui


def test_the_scene_frame_is_y_up_and_the_stabilised_view_cancels_the_pose(face_model):
    with SyntheticSource(width=160, height=120) as source:
        truth = source.frame_at(5).ground_truth
    scene = view_from_opencv(truth.vertices)
    assert np.allclose(scene[:, 0], truth.vertices[:, 0]) and np.allclose(scene[:, 1:], -truth.vertices[:, 1:])
    head = face_model.vertices(truth.identity, truth.expression, region="face")
    matrix = head_from_view(truth.rotation, truth.translation)
    back = scene @ matrix[:3, :3].T + matrix[:3, 3]
    assert np.abs(back - head).max() < 1e-4
    # Upright in the scene: the forehead is above the chin (y up), the face looks at +z.
    arrays = mesh_arrays(truth.vertices, np.ascontiguousarray(face_model.region("face").triangles))
    landmarks = arrays.vertices[face_model.landmark_indices]
    assert landmarks[27, 1] > landmarks[8, 1]  # nose bridge above the chin
    nose_tip = face_model.landmark_indices[30]
    assert arrays.normals[nose_tip, 2] > 0.5  # the nose tip's normal points at the viewer


def test_point_cloud_is_subsampled_and_near_the_face():
    camera = Intrinsics(fx=500, fy=500, cx=319.5, cy=239.5, width=640, height=480)
    depth = np.full((480, 640), 0.6, np.float32)
    depth[:, :100] = 2.0
    depth[0, 0] = np.nan
    points = point_cloud(depth, camera, max_points=5000, near=np.array([0.0, 0.0, 0.6]), radius=0.3)
    assert 0 < len(points) <= 5000
    assert np.allclose(points[:, 2], -0.6)  # scene frame: in front of the camera is -z


def test_playback_pauses_seeks_and_stops_at_the_end():
    opened = []
    source = ControlledSource(SyntheticSource(width=64, height=64, num_frames=5, fps=200.0), pace=True,
                              on_open=opened.append)
    with source:
        assert opened[0].seekable and opened[0].num_frames == 5
        frames = source.frames()
        assert [next(frames).index for _ in range(5)] == [0, 1, 2, 3, 4]
        threading.Timer(0.2, source.seek, args=(1,)).start()
        assert next(frames).index == 1  # it waited at the end; a seek delivers one frame
        assert not source.playing
        source.play()
        assert next(frames).index == 2
        source.pause()
        source.seek(4)
        assert next(frames).index == 4
        threading.Timer(0.2, source.interrupt).start()
        start = time.perf_counter()
        assert next(frames, None) is None  # paused until interrupted
        assert time.perf_counter() - start > 0.15


def test_rate_meter():
    meter = RateMeter(window_s=1.0)
    for i in range(11):
        meter.tick(10.0 + i * 0.05)
    assert meter.rate(10.5) == pytest.approx(20.0)
    assert meter.rate(20.0) == 0.0


def test_plot_value_axes_move_in_steps():
    from ui.plots import nice_limit

    assert nice_limit(29.5) == 40.0
    assert nice_limit(31.0, current=40.0) == 40.0  # fits: the axis stays
    assert nice_limit(1500.0, current=100.0) == 2000.0  # a spike: the axis grows
    assert nice_limit(60.0, current=2000.0) == 100.0  # the spike left the window: it shrinks
    assert nice_limit(0.0) == 10.0
    assert nice_limit(9000.0) == pytest.approx(11250.0)


def test_mesh_edges_are_unique_and_undirected():
    from ui.mesh_visual import mesh_edges

    faces = np.array([[0, 1, 2], [2, 1, 3]], np.uint16)
    edges = mesh_edges(faces)
    assert edges.dtype == np.uint16
    assert sorted(map(tuple, edges.tolist())) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
