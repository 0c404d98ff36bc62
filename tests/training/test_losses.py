"""Every loss term: shapes, finiteness and gradients on tiny inputs; the colour term against
finite differences; the tensor SH shading against NumPy's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.render.sh_lighting import random_sh
from models.render.sh_lighting import shade as shade_numpy
from training.geometry import vertex_normals
from training.losses.colour import PixelCorrespondence, colour_loss
from training.losses.geometry import closest_points, point_to_point_loss, projective_closest_points
from training.losses.landmarks import landmark_2d_loss, landmark_3d_loss
from training.losses.shading import shade
from training.losses.supervision import cross_domain_loss, parameter_losses, regularizers

B = 2


def _grad_ok(tensor: torch.Tensor) -> bool:
    return tensor.grad is not None and bool(torch.isfinite(tensor.grad).all()) and bool(tensor.grad.abs().sum() > 0)


def test_projective_closest_points_finds_the_surface_under_each_vertex() -> None:
    size = 16
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    intrinsics = torch.tensor([[20.0, 20.0, 7.5, 7.5]]).repeat(B, 1)
    z = 0.5
    plane = torch.stack([(xs - 7.5) / 20.0 * z, (ys - 7.5) / 20.0 * z, torch.full_like(xs, z)], dim=-1)
    xyz = plane[None].repeat(B, 1, 1, 1)
    valid = torch.ones(B, size, size, dtype=torch.bool)
    valid[:, :, :4] = False
    vertices = torch.tensor([[[0.0, 0.0, 0.49], [0.05, 0.02, 0.51], [-0.15, 0.0, 0.5], [0.0, 0.0, 0.9]]]).repeat(B, 1, 1)
    points, found = projective_closest_points(vertices, xyz, valid, intrinsics, radius=2, max_distance=0.03)
    assert points.shape == (B, 4, 3) and found.shape == (B, 4)
    assert found[:, :2].all() and not found[:, 2].any() and not found[:, 3].any()  # invalid pixels; too far
    np.testing.assert_allclose(points[0, 0, 2].item(), 0.5, atol=1e-6)
    assert torch.linalg.vector_norm(points[0, 1, :2] - vertices[0, 1, :2]) < 0.5 / 20 * 0.5 * 1.5


def test_geometry_and_scan_losses_have_gradients() -> None:
    torch.manual_seed(0)
    vertices = (torch.randn(B, 50, 3) * 0.05).requires_grad_()
    cloud = torch.randn(B, 200, 3) * 0.05
    valid = torch.rand(B, 200) > 0.1
    targets, found = closest_points(vertices.detach(), cloud, valid, max_distance=1.0)
    assert targets.shape == (B, 50, 3) and found.all()
    brute = torch.cdist(vertices.detach()[0], cloud[0][valid[0]]).min(1).values
    np.testing.assert_allclose(torch.linalg.vector_norm(targets[0] - vertices.detach()[0], dim=-1), brute, atol=1e-6)
    loss = point_to_point_loss(vertices, targets, found)
    assert loss.shape == (B,) and torch.isfinite(loss).all()
    loss.sum().backward()
    assert _grad_ok(vertices)


def test_landmark_losses() -> None:
    posed = (torch.randn(B, 68, 3) * 0.05 + torch.tensor([0, 0, 0.5])).requires_grad_()
    intrinsics = torch.tensor([[100.0, 100.0, 31.5, 31.5]]).repeat(B, 1)
    targets_2d = torch.rand(B, 68, 2) * 64
    loss2 = landmark_2d_loss(posed, targets_2d, intrinsics)
    loss3 = landmark_3d_loss(posed, posed.detach() + 0.01)
    assert loss2.shape == loss3.shape == (B,)
    np.testing.assert_allclose(loss3.detach(), 0.01 * np.sqrt(3), rtol=1e-4)
    (loss2.sum() + loss3.sum()).backward()
    assert _grad_ok(posed)


def test_parameter_cross_and_regularizer_terms() -> None:
    torch.manual_seed(1)
    predicted = {
        "identity": torch.randn(B, 100, requires_grad=True), "expression": torch.rand(B, 53, requires_grad=True),
        "rotation": torch.randn(B, 3, 3, requires_grad=True), "translation": torch.randn(B, 3, requires_grad=True),
        "albedo": torch.randn(B, 10, requires_grad=True), "lighting": torch.randn(B, 9, 3, requires_grad=True),
    }
    target = {k: torch.randn_like(v) for k, v in predicted.items()}
    terms = parameter_losses(predicted, target, torch.tensor([1.0, 1.0, 0.25]))
    regs = regularizers(predicted)
    assert set(terms) == set(predicted) and set(regs) == {"reg_identity", "reg_expression", "reg_albedo"}
    total = sum(t.sum() for t in terms.values()) + sum(r.sum() for r in regs.values())
    total.backward()
    for value in predicted.values():
        assert _grad_ok(value)
    rgb = torch.randn(B, 30, 3, requires_grad=True)
    rgbd = torch.randn(B, 30, 3, requires_grad=True)
    cross = cross_domain_loss(rgb, rgbd)
    assert cross.shape == (B,)
    cross.sum().backward()
    assert _grad_ok(rgb) and rgbd.grad is None  # the RGB-D mesh is a stop-gradient target


def _tiny_mesh(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A square pyramid facing the camera (apex toward it), 5 vertices, 4 triangles."""
    vertices = torch.tensor([[[-0.05, -0.05, 0.5], [0.05, -0.05, 0.5], [0.05, 0.05, 0.5], [-0.05, 0.05, 0.5],
                              [0.0, 0.0, 0.46]]], dtype=dtype).repeat(B, 1, 1)
    vertices[1] += 0.003
    triangles = torch.tensor([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    return vertices, triangles


def _correspondence(dtype: torch.dtype, pixels: int = 12) -> PixelCorrespondence:
    rng = np.random.default_rng(0)
    bary = rng.dirichlet([2, 2, 2], size=pixels)
    return PixelCorrespondence(
        batch=torch.tensor(rng.integers(0, B, pixels)), pixel=torch.tensor(rng.integers(0, 16, pixels)),
        triangle=torch.tensor(rng.integers(0, 4, pixels)), barycentrics=torch.tensor(bary, dtype=dtype))


def test_colour_term_shapes_and_gradients() -> None:
    vertices, triangles = _tiny_mesh(torch.float32)
    vertices.requires_grad_()
    albedo = torch.full((B, 5, 3), 0.5, requires_grad=True)
    sh = torch.from_numpy(np.stack([random_sh(np.random.default_rng(i)) for i in range(B)])).requires_grad_()
    image = torch.rand(B, 4, 4, 3)
    loss, count = colour_loss(vertices, albedo, sh, image, triangles, _correspondence(torch.float32))
    assert loss.shape == count.shape == (B,) and torch.isfinite(loss).all()
    loss.sum().backward()
    assert _grad_ok(vertices) and _grad_ok(albedo) and _grad_ok(sh)


def test_colour_term_gradient_matches_finite_differences() -> None:
    vertices, triangles = _tiny_mesh(torch.float64)
    rng = np.random.default_rng(1)
    albedo = torch.tensor(rng.uniform(0.2, 0.8, (B, 5, 3)))
    sh = torch.tensor(np.stack([random_sh(rng) for _ in range(B)]), dtype=torch.float64)
    image = torch.tensor(rng.uniform(0, 1, (B, 4, 4, 3)))
    correspondence = _correspondence(torch.float64)

    def term(v: torch.Tensor, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return colour_loss(v, a, s, image, triangles, correspondence)[0]

    inputs = (vertices.clone().requires_grad_(), albedo.clone().requires_grad_(), sh.clone().requires_grad_())
    assert torch.autograd.gradcheck(term, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_tensor_shading_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    normals = rng.normal(size=(40, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    albedo = rng.uniform(0, 1, (40, 3))
    sh = random_sh(rng)
    expected = shade_numpy(albedo, normals, sh)
    actual = shade(torch.tensor(albedo), torch.tensor(normals), torch.tensor(sh, dtype=torch.float64))
    np.testing.assert_allclose(actual.numpy(), expected, atol=1e-5)


def test_vertex_normals_match_the_renderer_convention(face_model) -> None:
    from models.normals import vertex_normals as numpy_normals

    region = face_model.region("narrow_face")
    vertices = face_model.vertices(region="narrow_face")
    expected = numpy_normals(vertices, region.triangles)
    actual = vertex_normals(torch.from_numpy(vertices)[None], torch.from_numpy(region.triangles.astype(np.int64)))[0]
    used = np.linalg.norm(expected, axis=1) > 0
    np.testing.assert_allclose(actual.numpy()[used], expected[used], atol=1e-4)


@pytest.mark.gl
def test_colour_term_reproduces_the_renderer(face_model) -> None:
    """Rasterised correspondences + tensor shading give the GL renderer's own pixel colours."""
    from models.camera import Intrinsics
    from models.geometry import head_pose_to_camera
    from models.render.albedo import AlbedoModel
    from training.losses.colour import Rasterizer

    size = 48
    region = face_model.region("narrow_face")
    rotation = head_pose_to_camera(0.3, 0.1, 0.0)
    vertices = face_model.vertices(region="narrow_face") @ rotation.T + np.array([0.0, 0.0, 0.55])
    camera = Intrinsics(fx=110.0, fy=110.0, cx=23.5, cy=23.5, width=size, height=size)
    albedo = AlbedoModel.from_face_model(face_model).mean[: vertices.shape[0]]
    sh = random_sh(np.random.default_rng(3))
    rasterizer = Rasterizer(size, region.triangles)
    v = torch.from_numpy(vertices.astype(np.float32))[None]
    k = torch.tensor([[camera.fx, camera.fy, camera.cx, camera.cy]])
    correspondence = rasterizer(v, k)
    rendered = rasterizer._renderer.render(vertices, region.triangles, camera, albedo, sh=sh, outputs=("rgb",)).rgb
    rasterizer.release()
    image = torch.from_numpy(rendered)[None]
    loss, count = colour_loss(v, torch.from_numpy(albedo)[None], torch.from_numpy(sh)[None], image,
                              torch.from_numpy(region.triangles.astype(np.int64)), correspondence)
    assert count.item() > 500
    assert loss.item() < 5e-3  # mean colour residual (the renderer clamps, and interpolates in float32)
