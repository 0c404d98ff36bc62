"""benchmarks.colour_eval: correlations over channels that move, and the NME of a folder of annotated images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.colour_eval import correlations, evaluate_nme, read_pts
from capture.synthetic import SyntheticSource

pytestmark = pytest.mark.gl


def test_correlations_count_moving_channels_only():
    t = np.linspace(0, 1, 50)
    truth = np.stack([np.sin(6 * t), np.full(50, 0.3), np.cos(4 * t)], axis=1)
    predicted = np.stack([np.sin(6 * t) * 0.5, np.zeros(50), np.full(50, 0.2)], axis=1)
    out = correlations(truth, predicted, ("a", "b", "c"))
    assert list(out) == ["a", "c"]  # b's truth does not move
    assert out["a"] == pytest.approx(1.0) and out["c"] == 0.0  # held constant: no correlation


def test_nme_on_annotated_images(tmp_path, face_model, capsys):
    with SyntheticSource(seed=1002) as source:
        for index in (0, 40):
            frame = source.frame_at(index)
            cv2.imwrite(str(tmp_path / f"face{index}.png"), frame.rgb[:, :, ::-1])
            points = frame.ground_truth.landmarks_2d + 1.0  # .pts files count pixels from 1
            body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
            (tmp_path / f"face{index}.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    np.testing.assert_allclose(read_pts(tmp_path / "face40.pts"), frame.ground_truth.landmarks_2d, atol=1e-3)
    evaluate_nme(face_model, tmp_path)
    printed = capsys.readouterr().out
    assert "NME over 2 images (0 not found)" in printed
    nme = float(printed.split("images (0 not found): ")[1].split(" %")[0])
    assert nme < 10.0, printed
