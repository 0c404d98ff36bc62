"""One rule picks the default input mode, for sources and for the pipeline alike."""

from __future__ import annotations

import pytest

from app.config import PipelineConfig
from models.mode import Mode, ModeError, modes_of, richest_mode


def test_the_richest_offered_mode_is_the_default() -> None:
    assert richest_mode([Mode.RGB, Mode.DEPTH, Mode.RGBD]) is Mode.RGBD
    assert richest_mode({Mode.RGB, Mode.DEPTH}) is Mode.DEPTH
    assert richest_mode([Mode.RGB]) is Mode.RGB
    with pytest.raises(ModeError, match="no input mode"):
        richest_mode([])


def test_what_a_frame_can_serve() -> None:
    assert modes_of(has_colour=True, has_depth=True) == {Mode.RGB, Mode.DEPTH, Mode.RGBD}
    assert modes_of(has_colour=False, has_depth=True) == {Mode.DEPTH}
    assert modes_of(has_colour=True, has_depth=False) == {Mode.RGB}
    assert richest_mode(modes_of(True, True)) is Mode.RGBD


def test_the_pipeline_config_holds_a_mode_not_a_string() -> None:
    assert PipelineConfig(mode="Depth").mode is Mode.DEPTH
    assert PipelineConfig(mode=Mode.RGB).mode is Mode.RGB
    assert PipelineConfig().mode is None
    with pytest.raises(ModeError):
        PipelineConfig(mode="infrared")
