"""End to end on the smoke configuration: train, resume, export with the parity check,
evaluate the exported files; and the synthetic samples' ground truth is consistent."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch

from training.checkpoint import latest_checkpoint, load_checkpoint
from training.cli import main
from training.config import EvalConfig
from training.data.sample import collate
from training.data.synthetic import SyntheticGenerator
from training.decoder import ShapeDecoder
from training.evaluate import evaluate_assets
from training.export import ExportError, export_run
from training.geometry import pose
from training.loop import ConfigMismatchError, Trainer, train

pytestmark = [pytest.mark.gl, pytest.mark.slow]


def test_train_resume_export_evaluate(tmp_path, tiny_config) -> None:
    run = tmp_path / "run"
    first = train(tiny_config, run, device="cpu", max_steps=4)
    assert first is not None and first.name == "step_00000004.pt"
    assert (run / "config.yaml").exists() and (run / "train.log").exists() and any((run / "tb").iterdir())
    last = train(tiny_config, run, device="cpu")  # resumes at step 4, runs to the end (10)
    assert last == latest_checkpoint(run) and load_checkpoint(last)["step"] == tiny_config.schedule.total_steps
    assert "resumed from" in (run / "train.log").read_text()

    # a new run fine-tuned from the finished one starts from its weights, at step 0
    finetune = Trainer(replace(tiny_config, run=replace(tiny_config.run, init_from=str(last))), tmp_path / "ft", device="cpu")
    finetune.initialise_from(last)
    trained = load_checkpoint(last)
    for name, value in finetune.system.net.state_dict().items():
        assert torch.equal(value, trained["net"][name]), name
    assert finetune.step == 0
    other = replace(tiny_config, network=replace(tiny_config.network, corrective_rank=tiny_config.network.corrective_rank + 1))
    with pytest.raises(ConfigMismatchError, match="another architecture"):
        Trainer(other, tmp_path / "other", device="cpu").initialise_from(last)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        finetune.initialise_from(tmp_path / "missing.pt")

    assets = tmp_path / "assets"
    written = export_run(run, assets)
    assert set(written) == {"rgb", "depth", "rgbd", "decoder"}
    for name in written:
        sidecar = json.loads((assets / f"{name}.json").read_text())
        parity = sidecar["parity"]
        assert parity["max_abs_difference"] <= 1e-4 * max(1.0, parity["largest_output"])
        assert sidecar["parity"]["weights"].startswith("float16")
        assert sidecar["parity"]["float16_max_abs_difference"] > 0  # the weights were rounded
        assert sidecar["face_model"]["commit"].startswith("da5f95a6")
        assert sidecar["training"]["step"] == tiny_config.schedule.total_steps
        assert sidecar["training"]["batchnorm"]["batches"] == tiny_config.export.calibration_batches
    rgbd = json.loads((assets / "rgbd.json").read_text())
    assert [i["name"] for i in rgbd["inputs"]] == ["rgb", "xyz", "crop_camera"]
    stored = {i.name: i.data_type for i in onnx.load(str(assets / "rgbd.onnx")).graph.initializer}
    assert stored["net.aligned.rgbd.basis"] == onnx.TensorProto.FLOAT  # face-model geometry, not weights
    assert any(name.endswith("__float16") for name in stored)
    assert [i["name"] for i in json.loads((assets / "rgb.json").read_text())["inputs"]] == ["rgb"]
    assert rgbd["outputs"][0]["layout"]["rotation"] == {"start": 153, "stop": 162,
                                                        "meaning": rgbd["outputs"][0]["layout"]["rotation"]["meaning"]}
    assert rgbd["normalization"]["size"] == tiny_config.crop.size
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export_run(run, tmp_path / "strict", tolerance=0.0 - 1.0)
    full = export_run(run, tmp_path / "float32", half_weights=False)
    for name, path in written.items():
        # float16 storage: about half the bytes (small graphs keep some float32 constants)
        assert path.stat().st_size < 0.65 * full[name].stat().st_size, name

    results = evaluate_assets(assets, EvalConfig(seeds=(1000,), frames_per_seed=1, timing_runs=3), write=True)
    assert {"rgb", "depth", "rgbd"} <= set(results)
    for branch in ("rgb", "depth", "rgbd"):
        assert np.isfinite(results[branch].mean_mm) and results[branch].ms_per_frame > 0
    assert 1.0 < results["mean face, aligned"].mean_mm < results["mean face, true pose"].mean_mm < 20.0
    for branch in ("rgb", "depth", "rgbd"):  # the pose / shape breakdown
        r = results[branch]
        assert 0.0 <= r.rotation_error_deg <= 180.0 and r.centre_error_mm >= 0.0 and r.shape_error_mm > 0.0
    evaluation = json.loads((assets / "depth.json").read_text())["evaluation"]
    assert evaluation["frames"] == 1 and "mean face, true pose" in evaluation["reference"]
    assert {"median_rotation_error_deg", "median_centre_error_mm", "shape_error_true_pose_mm"} <= set(evaluation)


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys, smoke_assets) -> None:
    assert main(["export", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert main(["evaluate", "--assets", str(tmp_path), "--seeds", "3"]) == 2
    truncated = tmp_path / "truncated"
    shutil.copytree(smoke_assets, truncated)
    (truncated / "rgbd.onnx").write_bytes((smoke_assets / "rgbd.onnx").read_bytes()[:5000])
    assert main(["evaluate", "--assets", str(truncated)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "no checkpoint" in err[0] and "1000 or more" in err[1]
    assert "rgbd.onnx does not match its sidecar" in err[2]  # the app's own check: the checksum


def test_synthetic_samples_are_consistent(tiny_config, face_model) -> None:
    generator = SyntheticGenerator(tiny_config.data, tiny_config.crop, face_model)
    rng = np.random.default_rng(5)
    samples = []
    for _ in range(3):
        scene = generator.render(rng)
        samples.extend(generator.capture(scene, rng) for _ in range(2))
    batch = collate(samples)
    size = tiny_config.crop.size
    assert batch.fields["rgb"].shape == (6, 3, size, size) and batch.fields["xyz"].shape == (6, 4, size, size)
    # The ground-truth parameters decode to the ground-truth crop-frame mesh.
    decoder = ShapeDecoder(face_model, rank=2, hidden=4)
    f = batch.fields
    mesh = pose(decoder(f["identity"], f["expression"]), f["rotation"], f["translation"])
    torch.testing.assert_close(mesh, f["vertices"], atol=2e-6, rtol=0)
    # Rotations are proper; the landmarks project where the 2D landmarks say.
    torch.testing.assert_close(torch.linalg.det(f["rotation"]), torch.ones(6), atol=1e-5, rtol=0)
    k = batch.intrinsics
    projected = f["landmarks_3d"][..., :2] / f["landmarks_3d"][..., 2:] * k[:, None, :2] + k[:, None, 2:]
    torch.testing.assert_close(projected, f["landmarks_2d"], atol=1e-3, rtol=0)
    # Captures of one scene share the truth but not the noise.
    torch.testing.assert_close(f["identity"][0], f["identity"][1])
    assert not torch.equal(f["xyz"][0], f["xyz"][1])


def test_rolled_camera_keeps_the_body_below_the_head(face_model) -> None:
    """Turned upside down with the camera, the shoulders still hang below the chin: the face
    shows as much as in the upright frame (the parent compositor alone would cover it)."""
    from models.camera import Intrinsics
    from models.crop import rotation_z
    from models.geometry import head_pose_to_camera
    from models.render.sh_lighting import ambient_sh
    from models.synthetic.motion import FaceState
    from models.synthetic.scene import Backdrop
    from training.data.compositor import RollingCompositor

    camera = Intrinsics.from_fov(160, 120, 56.0)
    compositor = RollingCompositor(face_model, camera, noise=None)
    backdrop = Backdrop(np.zeros((120, 160, 3), np.uint8), np.zeros((120, 160), np.float32))
    from models.synthetic.compositor import Appearance

    appearance = Appearance.sample(compositor.albedo_model, backdrop, np.random.default_rng(0))
    identity, expression = np.zeros(100, np.float32), np.zeros(53, np.float32)
    face_pixels = []
    for roll in (0.0, np.pi):
        rotation = rotation_z(roll) @ head_pose_to_camera(0.3, 0.0, 0.0)
        translation = rotation_z(roll) @ np.array([0.0, 0.02, 0.6])
        image = compositor.render_rolled(FaceState(identity, expression, rotation, translation), appearance,
                                         ambient_sh(1.0), np.random.default_rng(1), camera_roll=roll)
        face_pixels.append(int(image.face_mask.sum()))
    assert face_pixels[0] > 500
    assert abs(face_pixels[1] - face_pixels[0]) < 0.05 * face_pixels[0]


def test_rotation_error_is_the_geodesic_angle() -> None:
    from scipy.spatial.transform import Rotation

    from training.evaluate import _rotation_angle_deg

    rotation = Rotation.from_rotvec(np.radians(30.0) * np.array([0.6, 0.0, 0.8])).as_matrix()
    assert abs(_rotation_angle_deg(rotation) - 30.0) < 1e-9
    assert _rotation_angle_deg(np.eye(3)) == 0.0
