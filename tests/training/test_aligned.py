"""Mesh-aligned feedback (training/network/aligned.py): the geometry it reads, that it starts as
the identity function, that it trains alone when asked to, and that runs can add it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from training.checkpoint import save_checkpoint
from training.loop import ConfigMismatchError, Trainer
from training.network.aligned import MeshAlignedRefiner, farthest_point_indices, rotation_from_vector
from training.network.layout import OutputLayout
from training.schedule import ENCODER, apply_phase
from training.system import build_system, run_branches

SIZE = 32
FOCAL = 40.0
CENTRE = (15.5, 16.5)  # off the crop centre, like the crops of a frame's edge


def _aligned_config(tiny_config, vertices: int = 32):
    return replace(tiny_config, network=replace(tiny_config.network, aligned_vertices=vertices, aligned_iterations=2,
                                                aligned_hidden=16))


def _plain_config(tiny_config):
    return replace(tiny_config, network=replace(tiny_config.network, aligned_vertices=0))


def _plane(depth_m: float) -> torch.Tensor:
    """(1, 4, S, S) normalised XYZ (anchor 0, unit 0.1 m) of a fronto-parallel plane, all valid."""
    v, u = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    xyz = np.stack([(u - CENTRE[0]) * depth_m / FOCAL, (v - CENTRE[1]) * depth_m / FOCAL, np.full_like(u, depth_m)])
    return torch.from_numpy(np.concatenate([xyz / 0.1, np.ones((1, SIZE, SIZE))])[None].astype(np.float32))


def test_rotation_from_vector_is_rodrigues() -> None:
    vectors = np.random.default_rng(0).normal(size=(5, 3)) * 0.7
    matrices = rotation_from_vector(torch.tensor(vectors, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(matrices, Rotation.from_rotvec(vectors).as_matrix(), atol=1e-9)
    np.testing.assert_allclose(rotation_from_vector(torch.zeros(1, 3)).numpy()[0], np.eye(3), atol=1e-6)


def test_farthest_point_sampling_spreads_the_vertices(face_model) -> None:
    points = face_model.vertices(region="narrow_face")
    chosen = farthest_point_indices(points, 64)
    assert len(set(chosen.tolist())) == 64 and np.array_equal(chosen, farthest_point_indices(points, 64))
    spacing = lambda index: min(np.linalg.norm(points[a] - points[b]) for a in index for b in index if a != b)  # noqa: E731
    random = np.random.default_rng(0).choice(len(points), 64, replace=False)
    assert spacing(chosen) > 3 * spacing(random)


def _plane_refiner(count: int = 20) -> tuple[MeshAlignedRefiner, dict[str, torch.Tensor], torch.Tensor]:
    """A refiner whose template lies on the plane z = 0.5 m seen by the crop camera (head frame =
    camera frame), with a zero face-model basis."""
    layout = OutputLayout(identity=4, expression=3, albedo=2)
    rng = np.random.default_rng(1)
    template = np.column_stack([rng.uniform(-0.1, 0.1, count), rng.uniform(-0.1, 0.1, count), np.full(count, 0.5)])
    basis = torch.zeros(7, count, 3)
    refiner = MeshAlignedRefiner(torch.tensor(template, dtype=torch.float32), basis, layout, 0.1, hidden=8)
    current = {"identity": torch.zeros(1, 4), "expression": torch.zeros(1, 3), "rotation": torch.eye(3)[None],
               "translation": torch.zeros(1, 3)}
    camera = torch.tensor([[FOCAL, FOCAL, *CENTRE, 0.0, 0.0, 0.0]])
    return refiner, current, camera


def test_offsets_are_where_the_input_surface_is() -> None:
    """The template on the input plane: zero offsets, all seen; the plane 5 mm farther: each
    point's offset is to where its ray meets the plane (p * 0.01), weighted by its length;
    5 cm farther (beyond the 3 cm limit): unseen, as where the depth is invalid."""
    refiner, current, camera = _plane_refiner()
    count = refiner.template.shape[0]
    on = refiner.sample_offsets(current, _plane(0.5), camera)[0]
    assert torch.allclose(on[:3 * count], torch.zeros(3 * count), atol=1e-4)
    assert torch.equal(on[3 * count:4 * count], torch.ones(count))
    assert torch.allclose(on[4 * count:], torch.eye(3).flatten())
    behind = refiner.sample_offsets(current, _plane(0.505), camera)[0]
    expected = refiner.template * 0.01  # metres
    weight = 1.0 - (expected * expected).sum(1) / 0.03 ** 2  # nearer than 3 cm: counts less with distance
    assert torch.allclose(behind[3 * count:4 * count], weight, atol=1e-3)
    assert torch.allclose(behind[:3 * count].reshape(count, 3), expected * 100.0 * weight[:, None], atol=2e-3)
    far = refiner.sample_offsets(current, _plane(0.55), camera)[0]
    assert torch.equal(far[3 * count:4 * count], torch.zeros(count)) and torch.equal(far[:3 * count], torch.zeros(3 * count))
    # an invalid input pixel is no observation
    holes = _plane(0.5)
    holes[:, 3] = 0.0
    assert torch.equal(refiner.sample_offsets(current, holes, camera)[0][3 * count:4 * count], torch.zeros(count))


def test_a_new_refiner_passes_the_parameters_through(tiny_config, tiny_batch, face_model) -> None:
    """Zero-initialised corrections: a network with the steps computes what it did without them."""
    torch.manual_seed(0)
    plain = build_system(_plain_config(tiny_config), face_model)
    torch.manual_seed(0)
    aligned = build_system(_aligned_config(tiny_config), face_model)
    missing, unexpected = aligned.net.load_state_dict(plain.net.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("aligned.") for k in missing)
    plain.net.eval(), aligned.net.eval()
    with torch.no_grad():
        before, after = run_branches(plain.net, tiny_batch), run_branches(aligned.net, tiny_batch)
    for branch in before:
        assert torch.allclose(before[branch][0], after[branch][0], atol=1e-5), branch


def test_trainable_prefixes_train_only_the_refiner(tiny_config, tiny_batch, face_model) -> None:
    torch.manual_seed(0)
    system = build_system(_aligned_config(tiny_config), face_model)
    apply_phase(ENCODER, system.net, system.decoder, trainable=("aligned.",))
    trainable = {n for n, p in system.net.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("aligned.") for n in trainable)
    assert all(m.training == name.startswith("aligned") for name, m in system.net.named_modules() if name)
    before = {k: v.clone() for k, v in system.net.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in system.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):  # the first step moves only the zero-initialised last layers
        loss, _ = system(tiny_batch, ENCODER, None, with_colour=False)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    changed = {k for k, v in system.net.state_dict().items() if not torch.equal(before[k], v)}
    assert changed and all(k.startswith("aligned.") for k in changed)
    assert any(".mlp." in k for k in changed)
    with pytest.raises(ValueError, match="names no parameter"):
        apply_phase(ENCODER, system.net, system.decoder, trainable=("nothing.",))


def test_a_run_adds_the_refiner_to_a_checkpoint_without_it(tmp_path, tiny_config, face_model) -> None:
    plain = build_system(_plain_config(tiny_config), face_model)
    checkpoint = save_checkpoint(tmp_path / "plain", 7, {"step": 7, "net": plain.net.state_dict(),
                                                         "decoder": plain.decoder.state_dict()}, keep=1)
    trainer = Trainer(_aligned_config(tiny_config), tmp_path / "run", device="cpu")
    trainer.initialise_from(checkpoint)
    state = trainer.system.net.state_dict()
    for name, value in plain.net.state_dict().items():
        assert torch.equal(state[name], value), name
    assert all(torch.count_nonzero(step.out.weight) == 0 for step in trainer.system.net.aligned["depth"].steps)
    # anything else missing is still another architecture
    wider = _aligned_config(replace(tiny_config, network=replace(tiny_config.network,
                                                                 head_hidden=tiny_config.network.head_hidden + 8)))
    with pytest.raises(ConfigMismatchError, match="another architecture"):
        Trainer(wider, tmp_path / "wider", device="cpu").initialise_from(checkpoint)
