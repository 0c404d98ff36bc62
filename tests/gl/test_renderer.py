"""The mesh renderer against the camera model: geometry, ids, barycentrics, shading."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from models.camera import Intrinsics
from models.errors import RenderError
from models.face_model import FaceModel
from models.render import (
    ALL_OUTPUTS,
    MeshRenderer,
    ambient_sh,
    interpolate,
    random_sh,
    screen_barycentrics,
    sh_basis,
    to_srgb_uint8,
    vertex_normals,
)
from tests.gl.conftest import HEIGHT, WIDTH, posed_head

pytestmark = pytest.mark.gl


def quad(corners_px: np.ndarray, depths: np.ndarray, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Two triangles whose corners project to ``corners_px`` (4, 2) at camera z ``depths`` (4,)."""
    z = np.asarray(depths, dtype=np.float64)
    x = (corners_px[:, 0] - intrinsics.cx) / intrinsics.fx * z
    y = (corners_px[:, 1] - intrinsics.cy) / intrinsics.fy * z
    vertices = np.stack([x, y, z], axis=1).astype(np.float32)
    return vertices, np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)


def pixel_centres(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(mask)
    return rows, cols, np.stack([cols, rows], axis=1).astype(np.float64)


# -- exact geometry on planes -----------------------------------------------------------------


def test_rectangle_covers_exactly_the_pixel_centres_inside_it(renderer: MeshRenderer, intrinsics: Intrinsics) -> None:
    # Image-space rectangle u in [100.3, 200.7], v in [50.2, 150.6] (OpenCV pixel centres at
    # integers): columns 101..200 and rows 51..150 are inside, nothing else.
    corners = np.array([[100.3, 50.2], [200.7, 50.2], [200.7, 150.6], [100.3, 150.6]])
    vertices, triangles = quad(corners, np.full(4, 0.8), intrinsics)
    result = renderer.render(vertices, triangles, intrinsics, np.full((4, 3), 0.5, np.float32))
    expected = np.zeros((HEIGHT, WIDTH), dtype=bool)
    expected[51:151, 101:201] = True
    np.testing.assert_array_equal(result.mask, expected)
    np.testing.assert_allclose(result.depth[expected], np.full(100 * 100, 0.8), atol=1e-6)
    assert np.all(result.depth[~expected] == 0)
    assert np.all(result.triangle_id[~expected] == -1)
    assert set(np.unique(result.triangle_id[expected])) == {0, 1}
    np.testing.assert_allclose(result.rgb[expected], np.full((100 * 100, 3), 0.5), atol=1e-6)
    assert np.all(result.rgb[~expected] == 0)


def test_tilted_plane_depth_is_the_ray_intersection(renderer: MeshRenderer, intrinsics: Intrinsics) -> None:
    # A plane n . p = d seen at a slant; the ray of pixel (u, v) is z * ((u-cx)/fx, (v-cy)/fy, 1).
    normal, offset = np.array([0.3, -0.5, -1.0]), -0.7

    def plane_depth(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rays = np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)], -1)
        return offset / (rays @ normal)

    corners = np.array([[40.0, 30.0], [600.0, 20.0], [610.0, 450.0], [30.0, 460.0]])
    vertices, triangles = quad(corners, plane_depth(corners[:, 0], corners[:, 1]), intrinsics)
    result = renderer.render(vertices, triangles, intrinsics, np.ones((4, 3), np.float32), outputs={"depth"})
    rows, cols, _ = pixel_centres(result.mask)
    np.testing.assert_allclose(result.depth[rows, cols], plane_depth(cols * 1.0, rows * 1.0), rtol=1e-5)
    assert np.ptp(result.depth[rows, cols]) > 0.2
    assert result.mask.sum() > 0.7 * WIDTH * HEIGHT


def test_nearer_surface_wins_and_near_plane_clips(intrinsics: Intrinsics) -> None:
    corners = np.array([[100.0, 100.0], [300.0, 100.0], [300.0, 300.0], [100.0, 300.0]])
    far_v, tris = quad(corners, np.full(4, 1.0), intrinsics)
    near_v, _ = quad(corners + 50, np.full(4, 0.5), intrinsics)
    vertices = np.concatenate([near_v, far_v])  # the near quad is drawn first
    triangles = np.concatenate([tris, tris + 4])
    colors = np.concatenate([np.full((4, 3), 0.2), np.full((4, 3), 0.9)]).astype(np.float32)
    with MeshRenderer(WIDTH, HEIGHT, near=0.05, far=10.0) as r:
        result = r.render(vertices, triangles, intrinsics, colors)
        assert result.depth[200, 200] == pytest.approx(0.5, abs=1e-6)  # overlap: the near one
        assert result.triangle_id[200, 200] in (0, 1)
        assert result.depth[120, 120] == pytest.approx(1.0, abs=1e-6)
    with MeshRenderer(WIDTH, HEIGHT, near=0.7, far=10.0) as r:
        result = r.render(vertices, triangles, intrinsics, colors)
        assert result.depth[200, 200] == pytest.approx(1.0, abs=1e-6)  # the near quad is clipped
        assert result.depth[330, 330] == 0


# -- the face model -------------------------------------------------------------------------


@pytest.mark.parametrize("yaw_deg", [0.0, 35.0])
def test_depth_at_projected_vertices_equals_their_z(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel, yaw_deg: float
) -> None:
    vertices = posed_head(face_model, yaw_deg)
    triangles = face_model.region("head").triangles
    result = renderer.render(vertices, triangles, intrinsics, np.ones_like(vertices), outputs={"depth", "triangle_id"})
    uv = intrinsics.project(vertices.astype(np.float64))
    u0, v0 = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    inside = (u0 >= 0) & (u0 < WIDTH - 1) & (v0 >= 0) & (v0 < HEIGHT - 1)
    idx = np.nonzero(inside)[0]
    u0, v0, fu, fv = u0[inside], v0[inside], uv[inside, 0] - u0[inside], uv[inside, 1] - v0[inside]
    # Bilinear depth at the vertex's exact projection, from the 4 pixel centres around it;
    # kept where all 4 show triangles of that vertex (visible, not across an occluding edge).
    depth = np.zeros(idx.size)
    own = np.ones(idx.size, dtype=bool)
    for du, dv, weight in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
        seen = result.triangle_id[v0 + dv, u0 + du]
        own &= (seen >= 0) & np.any(triangles[np.maximum(seen, 0)] == idx[:, None], axis=1)
        depth += weight * result.depth[v0 + dv, u0 + du]
    assert own.sum() > 3000
    error = np.abs(depth - vertices[idx, 2])
    # Where the surface faces the camera the interpolation is exact to well under 1 mm; at
    # grazing angles (steep depth slopes, 1 px ~ several mm of depth) only mostly.
    normals = vertex_normals(vertices, triangles)[idx]
    view = vertices[idx] / np.linalg.norm(vertices[idx], axis=1, keepdims=True)
    facing = np.einsum("ij,ij->i", normals, view) < -0.7
    assert (own & facing).sum() > 1500
    assert error[own & facing].max() < 1e-3
    assert np.percentile(error[own], 99) < 1e-3


@pytest.mark.parametrize("yaw_deg", [0.0, 35.0])
def test_silhouette_matches_the_projected_mesh(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel, yaw_deg: float
) -> None:
    vertices = posed_head(face_model, yaw_deg)
    triangles = face_model.region("head").triangles
    result = renderer.render(vertices, triangles, intrinsics, np.ones_like(vertices), outputs={"depth"})
    # Reference silhouette: every projected triangle filled on the CPU (4 fractional bits;
    # one call per triangle, as fillPoly's even-odd rule would cancel overlaps).
    uv = intrinsics.project(vertices.astype(np.float64))
    reference = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for polygon in np.rint(uv[triangles] * 16).astype(np.int32):
        cv2.fillConvexPoly(reference, polygon, 1, lineType=cv2.LINE_8, shift=4)
    kernel = np.ones((3, 3), np.uint8)
    grown = cv2.dilate(reference, kernel).astype(bool)
    shrunk = cv2.erode(reference, kernel).astype(bool)
    mask = result.mask
    assert mask.sum() > 20000
    assert not np.any(mask & ~grown), "rendered pixels more than 1 px outside the projected mesh"
    assert not np.any(shrunk & ~mask), "pixels more than 1 px inside the projected mesh not rendered"
    disagree = np.count_nonzero(mask != reference.astype(bool))
    assert disagree < 0.02 * mask.sum()


def test_triangle_ids_and_barycentrics_rebuild_each_pixel(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel
) -> None:
    vertices = posed_head(face_model, 25.0, pitch_deg=-10.0)
    triangles = face_model.region("head").triangles
    result = renderer.render(vertices, triangles, intrinsics, np.ones_like(vertices))
    rows, cols, centres = pixel_centres(result.mask)
    np.testing.assert_array_equal(result.mask, result.triangle_id >= 0)
    assert result.triangle_id.dtype == np.int32 and result.triangle_id.max() < triangles.shape[0]
    bary = result.barycentrics[rows, cols].astype(np.float64)
    assert bary.min() > -0.01 and bary.max() < 1.01
    np.testing.assert_allclose(bary.sum(axis=1), 1.0, atol=2e-3)
    corners = vertices.astype(np.float64)[triangles[result.triangle_id[rows, cols]]]  # (M, 3, 3)
    # Perspective-correct: the weighted 3-D corners are the surface point on the pixel's ray.
    points = np.einsum("mk,mkc->mc", bary, corners)
    assert np.abs(intrinsics.project(points) - centres).max() < 1e-2
    assert np.percentile(np.abs(intrinsics.project(points) - centres), 99) < 1e-3
    assert np.abs(points[:, 2] - result.depth[rows, cols]).max() < 1e-3
    # Screen-space barycentrics weight the projected corners to the pixel centre.
    screen = screen_barycentrics(result.barycentrics, result.triangle_id, vertices, triangles)[rows, cols]
    projected = intrinsics.project(corners)
    rebuilt = np.einsum("mk,mkc->mc", screen.astype(np.float64), projected)
    assert np.abs(rebuilt - centres).max() < 1e-2
    assert np.percentile(np.abs(rebuilt - centres), 99) < 1e-3
    # interpolate() gives the same surface points.
    xyz = interpolate(vertices, result.triangle_id, result.barycentrics, triangles)
    np.testing.assert_allclose(xyz[rows, cols], points, atol=1e-5)
    assert np.all(xyz[~result.mask] == 0)


def test_image_is_upright_and_not_mirrored(renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel) -> None:
    vertices = posed_head(face_model, 0.0)
    triangles = face_model.region("head").triangles
    result = renderer.render(vertices, triangles, intrinsics, np.ones_like(vertices), outputs={"triangle_id"})
    lm = face_model.landmark_indices
    seen = set(result.triangle_id[result.mask].tolist())
    for name, index in {"nose tip": lm[30], "chin": lm[8], "right brow": lm[19], "left eye": lm[45]}.items():
        u, v = np.rint(intrinsics.project(vertices[index].astype(np.float64))).astype(int)
        assert result.triangle_id[v, u] in seen and result.mask[v, u], name
    nose, chin = intrinsics.project(vertices[[lm[30], lm[8]]].astype(np.float64))
    assert chin[1] > nose[1]  # the chin is lower in the image
    right_eye, left_eye = intrinsics.project(vertices[[lm[36], lm[45]]].astype(np.float64))
    assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image's left
    rows = np.nonzero(result.mask.any(axis=1))[0]
    top_row = rows.min()
    assert top_row < nose[1] < chin[1]  # the skull is above the nose in the rendered image


def test_normals_are_unit_and_face_the_camera(renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel) -> None:
    vertices = posed_head(face_model, 0.0)
    triangles = face_model.region("head").triangles
    result = renderer.render(vertices, triangles, intrinsics, np.ones_like(vertices), outputs={"normals"})
    normals = result.normals[result.mask]
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-3)
    assert np.all(result.normals[~result.mask] == 0)
    u, v = np.rint(intrinsics.project(vertices[face_model.landmark_indices[30]].astype(np.float64))).astype(int)
    assert result.normals[v, u, 2] < -0.9  # the nose tip looks at the camera
    assert np.mean(normals[:, 2] < 0) > 0.95


# -- colour and lighting --------------------------------------------------------------------


def test_unlit_colours_are_interpolated_vertex_colours(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel
) -> None:
    vertices = posed_head(face_model, 10.0)
    triangles = face_model.region("head").triangles
    colors = np.random.default_rng(0).uniform(0.1, 0.9, vertices.shape).astype(np.float32)
    result = renderer.render(vertices, triangles, intrinsics, colors)
    expected = interpolate(colors, result.triangle_id, result.barycentrics, triangles)
    np.testing.assert_allclose(result.rgb[result.mask], expected[result.mask], atol=2e-3)


def test_ambient_light_gives_albedo_times_level(renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel) -> None:
    vertices = posed_head(face_model, -20.0)
    triangles = face_model.region("head").triangles
    albedo = np.tile(np.array([[0.8, 0.5, 0.3]], np.float32), (vertices.shape[0], 1))
    result = renderer.render(vertices, triangles, intrinsics, albedo, sh=ambient_sh(0.6))
    lit = result.rgb[result.mask]
    assert lit.shape[0] > 20000
    np.testing.assert_allclose(lit, np.broadcast_to([0.48, 0.3, 0.18], lit.shape), atol=1e-4)


def test_sh_shading_matches_the_numpy_model(renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel) -> None:
    vertices = posed_head(face_model, 15.0)
    triangles = face_model.region("head").triangles
    rng = np.random.default_rng(1)
    albedo = rng.uniform(0.2, 0.8, vertices.shape).astype(np.float32)
    sh = random_sh(rng)
    result = renderer.render(vertices, triangles, intrinsics, albedo, sh=sh)
    m = result.mask
    interpolated = interpolate(albedo, result.triangle_id, result.barycentrics, triangles)[m]
    expected = np.clip(interpolated * (sh_basis(result.normals[m]) @ sh), 0, 1)
    np.testing.assert_allclose(result.rgb[m], expected, atol=3e-3)
    # Lit from the front: the camera-facing half is brighter than the grazing rim.
    facing = result.normals[m][:, 2] < -0.8
    grazing = np.abs(result.normals[m][:, 2]) < 0.3
    assert result.rgb[m][facing].mean() > result.rgb[m][grazing].mean()


# -- API behaviour --------------------------------------------------------------------------


def test_outputs_subset_matches_full_render(renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel) -> None:
    vertices = posed_head(face_model, 5.0)
    triangles = face_model.region("head").triangles
    colors = np.full_like(vertices, 0.5)
    sh = ambient_sh(0.5) + 0.1
    full = renderer.render(vertices, triangles, intrinsics, colors, sh=sh)
    for outputs in ({"rgb", "depth"}, {"depth", "triangle_id"}, {"barycentrics"}, {"normals"}, set()):
        part = renderer.render(vertices, triangles, intrinsics, colors, sh=sh, outputs=outputs)
        np.testing.assert_array_equal(part.mask, full.mask)
        for name in ALL_OUTPUTS - {"mask"}:
            value = getattr(part, name)
            if name in outputs:
                np.testing.assert_array_equal(value, getattr(full, name))
            else:
                assert value is None, name
    assert full.rgb.shape == (HEIGHT, WIDTH, 3) and full.rgb.dtype == np.float32
    assert full.depth.shape == (HEIGHT, WIDTH) and full.depth.dtype == np.float32
    assert full.mask.dtype == bool
    assert full.barycentrics.shape == (HEIGHT, WIDTH, 3) and full.normals.shape == (HEIGHT, WIDTH, 3)
    assert full.rgb.flags.c_contiguous and full.depth.flags.c_contiguous


def test_small_mesh_after_large_leaves_nothing_behind(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel
) -> None:
    head = posed_head(face_model, 0.0)
    renderer.render(head, face_model.region("head").triangles, intrinsics, np.ones_like(head))
    corners = np.array([[9.5, 9.5], [20.5, 9.5], [20.5, 20.5], [9.5, 20.5]])
    vertices, triangles = quad(corners, np.full(4, 1.0), intrinsics)
    result = renderer.render(vertices, triangles, intrinsics, np.ones((4, 3), np.float32))
    assert result.mask.sum() == 11 * 11  # pixel centres 10..20 on both axes
    empty = renderer.render(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), intrinsics,
                            np.zeros((0, 3), np.float32))
    assert not empty.mask.any()


def test_a_new_triangle_list_replaces_the_old_one(
    renderer: MeshRenderer, intrinsics: Intrinsics, face_model: FaceModel
) -> None:
    vertices = posed_head(face_model, 20.0)
    triangles = face_model.region("head").triangles
    colors = np.ones_like(vertices)
    renderer.render(vertices, triangles, intrinsics, colors, outputs={"triangle_id"})
    subset = np.ascontiguousarray(triangles[::-3])
    indexed = renderer.render(vertices, subset, intrinsics, colors, outputs={"depth", "triangle_id"})
    expanded = renderer.render(vertices, subset, intrinsics, colors)  # barycentrics: the other path
    np.testing.assert_array_equal(indexed.triangle_id, expanded.triangle_id)
    np.testing.assert_array_equal(indexed.depth, expanded.depth)
    assert indexed.triangle_id.max() < subset.shape[0]
    assert indexed.mask.sum() < renderer.render(vertices, triangles, intrinsics, colors, outputs={"depth"}).mask.sum()


def test_bad_arguments_raise_render_errors(renderer: MeshRenderer, intrinsics: Intrinsics) -> None:
    v = np.zeros((3, 3), np.float32)
    t = np.array([[0, 1, 2]], np.int32)
    with pytest.raises(RenderError, match="320x240"):
        renderer.render(v, t, intrinsics.scaled(320, 240), v)
    with pytest.raises(RenderError, match="vertices"):
        renderer.render(v[:, :2], t, intrinsics, v)
    with pytest.raises(RenderError, match="indices"):
        renderer.render(v, t + 1, intrinsics, v)
    with pytest.raises(RenderError, match="colors"):
        renderer.render(v, t, intrinsics, v[:2])
    with pytest.raises(RenderError, match="sh"):
        renderer.render(v, t, intrinsics, v, sh=np.zeros(9))
    with pytest.raises(RenderError, match="unknown render outputs"):
        renderer.render(v, t, intrinsics, v, outputs={"albedo"})
    with pytest.raises(RenderError, match="near"):
        MeshRenderer(WIDTH, HEIGHT, near=1.0, far=0.5)
    released = MeshRenderer(8, 8)
    released.release()
    with pytest.raises(RenderError, match="released"):
        released.render(v, t, Intrinsics.from_fov(8, 8, 60), v)


def test_renders_from_another_thread(renderer: MeshRenderer, intrinsics: Intrinsics) -> None:
    corners = np.array([[99.5, 99.5], [140.5, 99.5], [140.5, 140.5], [99.5, 140.5]])  # edges between centres
    vertices, triangles = quad(corners, np.full(4, 1.0), intrinsics)
    results = []

    def work() -> None:
        results.append(renderer.render(vertices, triangles, intrinsics, np.ones((4, 3), np.float32)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert len(results) == 1 and results[0].mask.sum() == 41 * 41


def test_to_srgb_uint8() -> None:
    linear = np.array([[[0.0, 0.5, 1.0], [2.0, -1.0, 0.0031308]]], dtype=np.float32)
    out = to_srgb_uint8(linear)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 3)
    np.testing.assert_array_equal(out, [[[0, 188, 255], [255, 0, 10]]])
    with pytest.raises(ValueError, match="H, W, 3"):
        to_srgb_uint8(np.zeros((4, 4)))
