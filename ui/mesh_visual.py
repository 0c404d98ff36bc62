"""A lean VisPy visual for the face: indexed triangles, lit per vertex, and an optional wireframe.

VisPy's ``MeshVisual`` with its ``ShadingFilter`` draws unindexed triangles (three vertices
per face: 56,000 vertex-shader runs for the 9,409-vertex face) and lights every fragment
through a chain of transforms. With Mesa's software rasteriser (llvmpipe), where the vertex
stage runs on the calling thread, that draw cost 17.6 ms at 960x720 (median, glFinish'ed).
Here the 9,409 vertices are shaded once each (Blinn-Phong with a directional head light,
Gouraud interpolation) and the fragment shader only picks the front or back colour: the
same look on a mesh this dense, for 10.5 ms in the same measurement.

The light and viewing directions come in the visual's own frame
(:meth:`FaceMeshVisual.set_light`; the viewport turns its camera-fixed head light into it on
the CPU), so the vertex shader needs no matrix beyond the position transform.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo, scene
from vispy.visuals import Visual

_VERTEX = """
varying vec4 v_front;
varying vec4 v_back;

vec3 lit(vec3 n) {
    float diffuse = max(dot(-$light, n), 0.0);
    float specular = 0.0;
    if (diffuse > 0.0) {
        specular = pow(clamp(dot($halfway, n), 0.0, 1.0), $shininess);
    }
    return $base.rgb * ($ambient + $diffuse * diffuse) + $specular * specular;
}

void main() {
    gl_Position = $transform(vec4($position, 1.0));
    vec3 n = normalize($normal);
    v_front = vec4(lit(n), $base.a);
    v_back = vec4(lit(-n), $base.a);
}
"""

_FRAGMENT = """
varying vec4 v_front;
varying vec4 v_back;

void main() {
    gl_FragColor = gl_FrontFacing ? v_front : v_back;
}
"""

_LINE_VERTEX = """
void main() {
    gl_Position = $transform(vec4($position, 1.0));
}
"""

_LINE_FRAGMENT = """
void main() {
    gl_FragColor = $color;
}
"""


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) unique undirected edges of (F, 3) triangles, in the dtype of ``faces``."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges.sort(axis=1)
    return np.unique(edges, axis=0).astype(faces.dtype)


def _index_dtype(num_vertices: int) -> type:
    return np.uint16 if num_vertices <= np.iinfo(np.uint16).max else np.uint32


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


class FaceMeshVisual(Visual):
    """Indexed triangles with smooth per-vertex lighting (two-sided).

    Args:
        color: RGBA base colour of the surface.
        ambient, diffuse, specular: light intensities; shininess: Blinn-Phong exponent.
    """

    def __init__(self, color=(0.86, 0.70, 0.60, 1.0), ambient: float = 0.28, diffuse: float = 0.85,
                 specular: float = 0.12, shininess: float = 24.0):
        super().__init__(vcode=_VERTEX, fcode=_FRAGMENT)
        self._positions = gloo.VertexBuffer(np.zeros((3, 3), np.float32))
        self._normals = gloo.VertexBuffer(np.zeros((3, 3), np.float32))
        self._faces_source: np.ndarray | None = None
        self._num_vertices = 0
        self.shared_program.vert["position"] = self._positions
        self.shared_program.vert["normal"] = self._normals
        self.shared_program.vert["base"] = tuple(color)
        self.shared_program.vert["ambient"] = float(ambient)
        self.shared_program.vert["diffuse"] = float(diffuse)
        self.shared_program.vert["specular"] = float(specular)
        self.shared_program.vert["shininess"] = float(shininess)
        self.set_light((0.0, 0.0, -1.0), (0.0, 0.0, -1.0))
        self._index_buffer = gloo.IndexBuffer(np.array([0, 1, 2], np.uint16))
        self._draw_mode = "triangles"
        self._bounds: np.ndarray | None = None
        self._bounds_source = np.zeros((0, 3), np.float32)
        # Pushed back a little so that a wireframe drawn over it wins the depth test.
        self.set_gl_state("opaque", depth_test=True, cull_face=False, polygon_offset_fill=True,
                          polygon_offset=(1.0, 1.0))
        self.freeze()

    def set_data(self, vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray) -> None:
        """Upload (N, 3) float32 vertices and unit normals; (F, 3) faces are re-sent only when new."""
        self._positions.set_data(np.ascontiguousarray(vertices, dtype=np.float32))
        self._normals.set_data(np.ascontiguousarray(normals, dtype=np.float32))
        if faces is not self._faces_source or len(vertices) != self._num_vertices:
            self._faces_source = faces
            self._index_buffer.set_data(np.ascontiguousarray(faces, dtype=_index_dtype(len(vertices))))
        self._num_vertices = len(vertices)
        self._bounds = None
        self._bounds_source = vertices
        self.update()

    def set_light(self, light: np.ndarray, eye: np.ndarray) -> None:
        """Light (direction the light travels) and eye (viewer -> scene) directions, visual frame."""
        light, eye = _unit(light), _unit(eye)
        self.shared_program.vert["light"] = tuple(light.astype(np.float32))
        self.shared_program.vert["halfway"] = tuple((-_unit(light + eye)).astype(np.float32))

    def _prepare_transforms(self, view) -> None:
        view.view_program.vert["transform"] = view.get_transform()

    def _compute_bounds(self, axis, view):
        if self._num_vertices == 0:
            return None
        if self._bounds is None:
            vertices = self._bounds_source
            self._bounds = np.stack([vertices.min(axis=0), vertices.max(axis=0)], axis=1)
        return tuple(self._bounds[axis]) if axis < 3 else (0.0, 0.0)


class FaceWireframeVisual(Visual):
    """The edges of the face mesh as lines of one colour (drawn over the surface)."""

    def __init__(self, color=(0.12, 0.12, 0.12, 1.0)):
        super().__init__(vcode=_LINE_VERTEX, fcode=_LINE_FRAGMENT)
        self._positions = gloo.VertexBuffer(np.zeros((2, 3), np.float32))
        self._faces_source: np.ndarray | None = None
        self._num_vertices = 0
        self.shared_program.vert["position"] = self._positions
        self.shared_program.frag["color"] = tuple(color)
        self._index_buffer = gloo.IndexBuffer(np.array([0, 1], np.uint16))
        self._draw_mode = "lines"
        self.set_gl_state("opaque", depth_test=True, cull_face=False)
        self.freeze()

    def set_data(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self._positions.set_data(np.ascontiguousarray(vertices, dtype=np.float32))
        if faces is not self._faces_source or len(vertices) != self._num_vertices:
            self._faces_source = faces
            self._index_buffer.set_data(mesh_edges(np.asarray(faces, dtype=_index_dtype(len(vertices)))))
        self._num_vertices = len(vertices)
        self.update()

    def _prepare_transforms(self, view) -> None:
        view.view_program.vert["transform"] = view.get_transform()


FaceMesh = scene.visuals.create_visual_node(FaceMeshVisual)
FaceWireframe = scene.visuals.create_visual_node(FaceWireframeVisual)
