"""Time :class:`MeshRenderer` on the synthetic source's workload.

``python -m models.render.benchmark [--frames 100] [--width 640 --height 480]`` renders the
face model's ``head`` region (22,288 triangles) plus a stand-in torso of a few thousand
triangles, a new pose, albedo and lighting each frame, and logs the time per frame (whole
``render()`` calls, CPU preparation and read-back included) for a few output sets.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from models.camera import Intrinsics
from models.face_model import load_face_model
from models.geometry import head_pose_to_camera
from models.render.albedo import AlbedoModel
from models.render.gl_context import get_context
from models.render.renderer import ALL_OUTPUTS, MeshRenderer
from models.render.sh_lighting import random_sh

log = logging.getLogger(__name__)

OUTPUT_SETS: dict[str, frozenset[str]] = {
    "rgb+depth": frozenset({"rgb", "depth"}),
    "rgb+depth+ids": frozenset({"rgb", "depth", "triangle_id"}),
    "rgb+depth+ids+bary": frozenset({"rgb", "depth", "triangle_id", "barycentrics"}),
    "all": ALL_OUTPUTS,
}


def torso(rings: int = 30, segments: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for shoulders: an elliptic tube below the head, head frame, metres.

    Returns vertices (rings * segments, 3) float32 and triangles (2 (rings-1) segments, 3)
    int32 wound outward.
    """
    y = np.linspace(-0.17, -0.35, rings)
    angle = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    widen = np.linspace(0.06, 0.2, rings)[:, None]
    x = widen * np.sin(angle)[None, :]
    z = 0.7 * widen * np.cos(angle)[None, :] - 0.02
    vertices = np.stack([x, np.broadcast_to(y[:, None], x.shape), z], axis=-1).reshape(-1, 3)
    r, s = np.meshgrid(np.arange(rings - 1), np.arange(segments), indexing="ij")
    a = r * segments + s
    b = r * segments + (s + 1) % segments
    c, d = a + segments, b + segments
    triangles = np.concatenate([np.stack([a, c, b], -1), np.stack([b, c, d], -1)]).reshape(-1, 3)
    return vertices.astype(np.float32), triangles.astype(np.int32)


def run(frames: int, width: int, height: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-frame (wall, process CPU) times in milliseconds for each entry of :data:`OUTPUT_SETS`.

    The CPU time sums all the process's threads (llvmpipe rasterises on its own threads); on
    a busy machine it is the steadier figure of the work done.
    """
    model = load_face_model()
    albedo = AlbedoModel.from_face_model(model)
    head_triangles = model.region("head").triangles
    n_head = albedo.num_vertices
    body, body_triangles = torso()
    triangles = np.concatenate([head_triangles, body_triangles + n_head])
    intrinsics = Intrinsics.from_fov(width, height, 60.0)
    rng = np.random.default_rng(0)
    times: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with MeshRenderer(width, height) as renderer:
        for name, outputs in OUTPUT_SETS.items():
            elapsed, cpu = [], []
            for frame in range(frames + 3):  # 3 warm-up frames compile the shader variant
                rotation = head_pose_to_camera(*rng.uniform(-0.5, 0.5, 3) * np.array([1.0, 0.4, 0.2]))
                head = model.vertices(rng.standard_normal(100), region="head")
                vertices = (np.concatenate([head, body]) @ rotation.T + np.array([0.0, 0.0, 0.55])).astype(np.float32)
                colors = np.concatenate([albedo.colors(albedo.sample(rng)), np.full((body.shape[0], 3), 0.3)])
                sh = random_sh(rng)
                start, start_cpu = time.perf_counter(), time.process_time()
                renderer.render(vertices, triangles, intrinsics, colors, sh=sh, outputs=outputs)
                if frame >= 3:
                    elapsed.append(1000.0 * (time.perf_counter() - start))
                    cpu.append(1000.0 * (time.process_time() - start_cpu))
            times[name] = (np.asarray(elapsed), np.asarray(cpu))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    info = get_context().info
    log.info("renderer: %s, %s", info.get("GL_RENDERER"), info.get("GL_VERSION"))
    log.info("%d frames of %dx%d per output set; wall-clock and process CPU ms per render()",
             args.frames, args.width, args.height)
    for name, (wall, cpu) in run(args.frames, args.width, args.height).items():
        log.info(
            "%-20s wall median %6.2f  p90 %6.2f  min %6.2f | CPU median %6.2f",
            name, np.median(wall), np.percentile(wall, 90), wall.min(), np.median(cpu),
        )


if __name__ == "__main__":
    main()
