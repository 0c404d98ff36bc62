"""Which narrow-face vertices the refiner fits: well spread, away from unreliable depth.

Depth is unreliable at the eyes (lashes, eyeballs, glasses), in the mouth (teeth, tongue,
the inner lip line) and at the region's border; the fitting subset keeps clear of them and
spreads the rest evenly by farthest-point sampling on the template, so a few hundred to a
few thousand vertices see the whole face.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from models.face_model import FaceModel


def boundary_loops(triangles: np.ndarray, num_vertices: int) -> list[np.ndarray]:
    """Vertex indices of each boundary loop (edges used by one triangle), largest first."""
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    border = unique[counts == 1]
    if len(border) == 0:
        return []
    graph = coo_matrix((np.ones(len(border)), (border[:, 0], border[:, 1])), shape=(num_vertices, num_vertices))
    _, labels = connected_components(graph, directed=False)
    on_border = np.unique(border)
    loops = [on_border[labels[on_border] == label] for label in np.unique(labels[on_border])]
    return sorted(loops, key=len, reverse=True)


def farthest_point_sampling(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` points of (N, 3) ``points`` spread by greedy farthest-point sampling.

    Deterministic: starts from the point nearest the centroid.
    """
    points = np.asarray(points, dtype=np.float64)
    if count >= len(points):
        return np.arange(len(points))
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = int(np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1)))
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    for k in range(1, count):
        chosen[k] = int(np.argmax(distance))
        np.minimum(distance, np.linalg.norm(points - points[chosen[k]], axis=1), out=distance)
    return np.sort(chosen)


def select_fit_vertices(model: FaceModel, count: int, eye_margin_mm: float = 9.0,
                        mouth_margin_mm: float = 6.0, border_margin_mm: float = 3.0) -> np.ndarray:
    """(count,) sorted int64 indices into the narrow-face region for fitting.

    The narrow face has four boundary loops: its outer border (the largest), the two eye
    openings and the mouth opening (the other three; the mouth is the lowest). Vertices
    within the given template distances of them are excluded before sampling.
    """
    region = model.region("narrow_face")
    template = model.template[: region.num_vertices].astype(np.float64)
    loops = boundary_loops(region.triangles, region.num_vertices)
    keep = np.ones(region.num_vertices, dtype=bool)
    tree = cKDTree(template)
    if loops:
        holes = sorted(loops[1:], key=lambda loop: template[loop, 1].mean())
        margins = [(loops[0], border_margin_mm)]
        if holes:
            margins.append((holes[0], mouth_margin_mm))  # lowest hole: the mouth
            margins.extend((hole, eye_margin_mm) for hole in holes[1:])
        for loop, margin_mm in margins:
            if margin_mm > 0:
                for near in tree.query_ball_point(template[loop], margin_mm / 1000.0):
                    keep[near] = False
    candidates = np.flatnonzero(keep)
    return candidates[farthest_point_sampling(template[candidates], count)]
