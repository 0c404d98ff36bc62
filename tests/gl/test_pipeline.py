"""The pipeline with the shipped weights: every mode, refinement, bad frames, start-up errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.config import ASSETS_DIR, PipelineConfig
from app.pipeline import ModeNotAvailableError, Pipeline
from capture.synthetic import SyntheticSource
from models.errors import ModelError
from models.face_model import REGION_SIZES
from models.frame import Frame
from models.mode import Mode

pytestmark = pytest.mark.gl
NARROW = REGION_SIZES["narrow_face"]


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    with SyntheticSource(seed=1003) as source:  # held out from training
        return [source.frame_at(i) for i in range(0, 48, 4)]


@pytest.fixture(scope="module")
def pipeline(face_model) -> Pipeline:
    return Pipeline(PipelineConfig(), model=face_model)


def gt_error_mm(result, frame: Frame) -> float:
    return float(np.linalg.norm(result.vertices[:NARROW] - frame.ground_truth.vertices[:NARROW], axis=1).mean() * 1000)


@pytest.mark.parametrize("mode", [Mode.RGBD, Mode.DEPTH])
def test_depth_modes_find_and_fit_the_face(pipeline: Pipeline, frames: list[Frame], mode: Mode) -> None:
    pipeline.reset()
    pipeline.set_mode(mode)
    results = [pipeline.process(frame) for frame in frames]
    found = [r for r in results if r.found]
    assert len(found) >= len(frames) - 1
    for result in found:
        assert result.mode == mode.value
        assert result.region == "face" and result.vertices.shape == (REGION_SIZES["face"], 3)
        assert result.vertices.dtype == np.float32
        # the crop the network saw rides with the result, around the face it found
        centre = np.array([result.crop.centre_x, result.crop.centre_y])
        assert np.linalg.norm(result.landmarks_2d.mean(axis=0) - centre) < 0.25 * result.crop.size
        assert result.landmarks_2d.shape == (68, 2) and result.landmarks_3d.shape == (68, 3)
        assert result.identity.shape == (100,) and result.expression.shape == (53,)
        assert {"localize", "infer", "refine", "smooth", "mesh"} <= set(result.stage_ms)
        # the eye state the curves carry is the one reported (gaze from eyeLook, blink from eyeBlink)
        np.testing.assert_allclose(result.gaze, pipeline.eyes.gaze(result.expression))
        np.testing.assert_allclose(result.blink, pipeline.eyes.blink_of(result.expression))
    errors = [gt_error_mm(r, f) for r, f in zip(results, frames, strict=True) if r.found]
    assert np.mean(errors) < 3.0, "refinement fits the depth to millimetres"


def test_rgb_mode_runs_on_colour(pipeline: Pipeline, frames: list[Frame]) -> None:
    pipeline.reset()
    pipeline.set_mode(Mode.RGB)
    results = [pipeline.process(frame) for frame in frames]
    result = results[0]
    assert result.mode == "rgb" and "refine" not in result.stage_ms
    found = [r for r in results if r.found]
    assert len(found) >= len(frames) - 1
    for result in found:
        # the model fitted to the 468 points, eyelids and iris: its 2D landmarks sit on the face,
        # the eye state is measured and carried by the curves
        assert "fit" in result.stage_ms
        assert result.gaze.shape == (2, 2) and result.blink.shape == (2,)
        np.testing.assert_allclose(result.gaze, pipeline.eyes.gaze(result.expression))
        np.testing.assert_allclose(result.blink, pipeline.eyes.blink_of(result.expression))
    frame_of = {f.index: f for f in frames}
    errors = [np.median(np.linalg.norm(r.landmarks_2d - frame_of[r.index].ground_truth.landmarks_2d, axis=1))
              for r in found]
    assert np.median(errors) < 6.0, "the fitted face lies on the face in the image (pixels)"


def test_mode_switch_takes_effect_on_the_next_frame(pipeline: Pipeline, frames: list[Frame]) -> None:
    pipeline.reset()
    pipeline.set_mode(Mode.DEPTH)
    assert pipeline.process(frames[0]).mode == "depth"
    pipeline.set_mode(Mode.RGBD)
    assert pipeline.process(frames[1]).mode == "rgbd"


def test_bad_frames_are_not_found_and_tracking_recovers(pipeline: Pipeline, frames: list[Frame]) -> None:
    pipeline.reset()
    pipeline.set_mode(Mode.RGBD)
    good = frames[0]
    assert pipeline.process(good).found
    blank = np.zeros_like(good.depth)
    nan = np.full_like(good.depth, np.nan)
    for depth in (blank, nan):
        bad = Frame(index=1, timestamp=0.1, intrinsics=good.intrinsics, rgb=np.zeros_like(good.rgb), depth=depth)
        result = pipeline.process(bad)
        assert not result.found
        assert result.vertices is not None, "the last face is held so that exports stay aligned"
    jump = frames[6]  # a frame from later in the take: the face moved
    results = [pipeline.process(jump) for _ in range(3)]
    assert results[-1].found
    assert gt_error_mm(results[-1], jump) < 5.0


def test_rgb_mode_follows_a_jump_at_once(pipeline: Pipeline, frames: list[Frame]) -> None:
    """Colour alone: the colour localizer follows the face by its landmarks; after a sudden
    jump its crop shows no face, the landmark model's face score drops and the same frame is
    detected afresh, so the face is found at its new place at once (never carried)."""
    pipeline.reset()
    pipeline.set_mode(Mode.RGB)
    first = pipeline.process(frames[0])
    assert first.found and first.mesh_points_2d.shape == (468, 2) and first.iris_2d.shape == (2, 5, 2)

    def shifted(index: int, shift: int) -> Frame:
        rgb = np.zeros_like(frames[0].rgb)
        rgb[:, shift:] = frames[0].rgb[:, :rgb.shape[1] - shift]
        return Frame(index=index, timestamp=index / 30, intrinsics=frames[0].intrinsics, rgb=rgb)

    for i in range(1, 8):  # the face slides 210 pixels to the right: followed
        result = pipeline.process(shifted(i, 30 * i))
        assert result.found
        assert abs(result.mesh_points_2d[:, 0].mean() - first.mesh_points_2d[:, 0].mean() - 30 * i) < 10
    mesh_stats = pipeline.tracker.mesh.stats
    assert mesh_stats.lost == 0 and mesh_stats.detections == 1
    back = pipeline.process(shifted(8, 0))  # ... and jumps back: found there at once
    assert back.found and abs(back.mesh_points_2d[:, 0].mean() - first.mesh_points_2d[:, 0].mean()) < 10
    assert mesh_stats.lost == 1 and mesh_stats.detections == 2
    blank = Frame(index=9, timestamp=0.3, intrinsics=frames[0].intrinsics, rgb=np.zeros_like(frames[0].rgb))
    assert not pipeline.process(blank).found


def test_a_mode_the_frame_cannot_serve_is_a_clear_error(pipeline: Pipeline, frames: list[Frame]) -> None:
    colour_only = Frame(index=0, timestamp=0.0, intrinsics=frames[0].intrinsics, rgb=frames[0].rgb)
    pipeline.set_mode(Mode.DEPTH)
    with pytest.raises(ModeNotAvailableError, match="needs depth"):
        pipeline.process(colour_only)


def test_missing_or_mismatched_weights_name_the_file(tmp_path: Path, face_model) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    (assets / "depth.json").unlink()
    with pytest.raises(ModelError, match=r"depth\.json is missing"):
        Pipeline(PipelineConfig(assets_dir=assets), model=face_model)
    shutil.copy(ASSETS_DIR / "depth.json", assets / "depth.json")
    with (assets / "rgb.onnx").open("ab") as f:
        f.write(b"tampered")
    with pytest.raises(ModelError, match=r"rgb\.onnx does not match"):
        Pipeline(PipelineConfig(assets_dir=assets), model=face_model)
