"""training.diagnose: face-centre bias and identity figures of exported branches."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest

from runtime.onnx_session import SessionConfig, create_session
from training.cli import main
from training.diagnose import _probe_r2, _r2, _with_features, diagnose_assets, format_diagnosis


def test_r2_and_the_linear_probe_tell_information_from_noise() -> None:
    rng = np.random.default_rng(0)
    targets = rng.standard_normal((400, 3))
    informative = np.concatenate([targets @ rng.standard_normal((3, 20)), rng.standard_normal((400, 5))], axis=1)
    assert np.all(_probe_r2(informative, targets, ridge=1.0) > 0.95)
    assert np.all(_probe_r2(rng.standard_normal((400, 25)), targets, ridge=1.0) < 0.1)
    assert np.allclose(_r2(targets, targets), 1.0)
    assert np.all(np.abs(_r2(np.zeros_like(targets) + targets.mean(0), targets)) < 1e-9)


@pytest.mark.gl
@pytest.mark.slow
def test_diagnose_reports_every_branch(tmp_path, smoke_assets, tiny_config, caplog, capsys) -> None:
    graph = _with_features(smoke_assets / "depth.onnx")
    outputs = create_session(graph, SessionConfig(threads=1, use_gpu=False)).get_outputs()
    assert [o.name for o in outputs][0] == "params" and len(outputs) == 2
    head = [n for n in onnx.load(str(smoke_assets / "depth.onnx")).graph.node if n.op_type == "Gemm"][0]
    assert outputs[1].name == head.input[0]  # the head's pooled input features

    results = diagnose_assets(smoke_assets, tiny_config.data, samples=12, modes=4)
    assert set(results) == {"rgb", "depth", "rgbd"}
    for r in results.values():
        assert r.samples == 12 and r.centre_offset_mm.shape == (3,) and np.all(np.isfinite(r.centre_offset_mm))
        assert r.centre_error_mm >= abs(r.along_ray_mm) >= 0.0
        assert r.identity_r2.shape == (4,) and r.probe_r2.shape == (4,) and np.all(r.identity_r2 <= 1.0)
    table = format_diagnosis(results)
    assert table.count("\n") == 4 and "| depth | 12 |" in table

    assert main(["diagnose", "--assets", str(smoke_assets), "--config", "smoke", "--samples", "12", "--modes", "3"]) == 0
    assert "| rgbd | 12 |" in caplog.text
    assert main(["diagnose", "--assets", str(smoke_assets / "missing")]) == 2
    truncated = tmp_path / "truncated"
    shutil.copytree(smoke_assets, truncated)
    (truncated / "rgb.onnx").write_bytes((smoke_assets / "rgb.onnx").read_bytes()[:5000])
    assert main(["diagnose", "--assets", str(truncated)]) == 2
    assert "rgb.onnx is not a readable ONNX model" in capsys.readouterr().err
