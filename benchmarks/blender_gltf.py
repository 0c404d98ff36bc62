"""Blender's own glTF importer on the rig export (issue 22's target); not part of CI (bpy is ~1 GB).

    python -m benchmarks.blender_gltf --blender-python PY [--frames 300] [--space gl] [--keep DIR]

Writes a synthetic take (the face model along a smooth head motion with an expression and a
few frames without a face) to ``take.glb`` and ``take.csv`` with the project's exporters, then
runs this file under ``PY``, a Python that has the ``bpy`` wheel (Blender as a module; bpy 5.x
wants Python 3.13: ``python3.13 -m venv /tmp/bpy && /tmp/bpy/bin/pip install bpy``), which
imports the .glb with ``bpy.ops.import_scene.gltf`` and checks, printing each figure:

- one mesh with shape keys, and its 52 keys (besides the basis) are named like the CSV columns;
- the shape-key action has one key per frame on every curve, and so do the eyes' rotations;
- the ``JawOpen`` curve equals the CSV's JawOpen column (to 1e-4) at every frame;
- the capture camera has the file's vertical field of view, sits at the origin and sees the face;
- the head is upright and faces Blender's front view: the head's up axis within 30 degrees
  of +Z and its facing axis within 35 degrees of -Y (the synthetic head turns up to 29 degrees
  in yaw) at every frame.

Exit status 0 when every check passes. ``PY benchmarks/blender_gltf.py --check GLB CSV``
checks any export, .glb or .gltf (the take's frame rate is read from its ``asset.extras``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

UP_LIMIT_DEG = 30.0
FRONT_LIMIT_DEG = 35.0
JAW_TOLERANCE = 1e-4


def export_take(folder: Path, frames: int, space: str) -> tuple[Path, Path]:
    """Write the synthetic take as .glb and .csv (project Python)."""
    import dataclasses

    import numpy as np

    from app.export import exporter_for
    from app.export.samples import synthetic_results
    from models.face_model import load_face_model

    model = load_face_model()
    results = synthetic_results(model, frames, fps=30.0, missing={0, 1, 40, 41, 42})
    # a wandering gaze (the eyes' keys), both eyes together as a person looks around
    results = [dataclasses.replace(r, gaze=np.array([[0.3 * math.sin(r.index / 20), 0.15 * math.cos(r.index / 15)]] * 2,
                                                    np.float32)) if r.has_face else r for r in results]
    glb, table = folder / "take.glb", folder / "take.csv"
    for path in (glb, table):
        exporter_for(path).export(results, fps=30.0, face_model=model, space=space)
    return glb, table


def glb_json(path: Path) -> dict:
    """The JSON of a .gltf file or the JSON chunk of a .glb file."""
    data = path.read_bytes()
    if path.suffix.lower() == ".gltf":
        return json.loads(data)
    length, kind = struct.unpack_from("<I4s", data, 12)
    if data[:4] != b"glTF" or kind != b"JSON":
        raise SystemExit(f"{path} is not a glTF binary")
    return json.loads(data[20:20 + length])


def fcurves_of(action, slot) -> list:
    """The F-curves of ``action`` (Blender 4.4+ layered actions, or the legacy list)."""
    try:
        from bpy_extras import anim_utils
        bag = anim_utils.action_get_channelbag_for_slot(action, slot)
        if bag is not None:
            return list(bag.fcurves)
    except (ImportError, AttributeError):
        pass
    return list(action.fcurves)


def check(glb: Path, table: Path) -> bool:
    """Import ``glb`` into an empty Blender scene and check it against ``table`` (bpy Python)."""
    import bpy
    from mathutils import Vector

    document = glb_json(glb)
    fps = float(document["asset"]["extras"]["fps"])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    bpy.ops.import_scene.gltf(filepath=str(glb))
    with open(table, newline="") as handle:
        rows = list(csv.reader(handle))
    columns, body = rows[0], rows[1:]
    curve_columns = columns[2:54]
    ok = True

    def report(name: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"{'ok  ' if passed else 'FAIL'} {name}: {detail}")

    print(f"Blender {bpy.app.version_string}, importer io_scene_gltf2; {glb.name}: {glb.stat().st_size / 1e6:.2f} MB, "
          f"{len(body)} frames at {fps:g} fps")
    meshes = [o for o in scene.objects if o.type == "MESH"]
    keyed = [o for o in meshes if o.data.shape_keys is not None]
    report("one mesh with shape keys", len(keyed) == 1,
           f"{len(keyed)} of {len(meshes)} mesh objects ({', '.join(sorted(o.name for o in meshes))}); "
           f"cameras: {sum(o.type == 'CAMERA' for o in scene.objects)}")
    if len(keyed) != 1:
        return False
    cameras = [o for o in scene.objects if o.type == "CAMERA"]
    if cameras:
        yfov = document["cameras"][0]["perspective"]["yfov"]
        camera = cameras[0]
        report("capture camera", abs(camera.data.angle_y - yfov) < 1e-3 and camera.matrix_world.translation.length < 1e-6,
               f"vertical field of view {math.degrees(camera.data.angle_y):.2f} deg (file {math.degrees(yfov):.2f}), "
               f"at {tuple(round(v, 6) for v in camera.matrix_world.translation)}")
    face = keyed[0]
    if cameras:
        seen = cameras[0].matrix_world.inverted() @ face.matrix_world.translation
        report("the face is in front of the camera", seen.z < 0 and abs(seen.x) < -seen.z and abs(seen.y) < -seen.z,
               f"head origin at {tuple(round(v, 3) for v in seen)} in the camera's frame (it looks down -Z)")
    keys = face.data.shape_keys
    names = [block.name for block in keys.key_blocks][1:]
    report("52 shape keys named like the CSV columns", names == curve_columns,
           f"{len(names)} keys; first {names[:3]}, last {names[-2:]}")
    action = keys.animation_data.action if keys.animation_data else None
    if action is None:
        report("shape-key action", False, "none")
        return False
    curves = fcurves_of(action, keys.animation_data.action_slot if hasattr(keys.animation_data, "action_slot") else None)
    counts = {len(c.keyframe_points) for c in curves}
    report("one key per frame", counts == {len(body)}, f"action {action.name!r}: {len(curves)} curves, "
           f"keys per curve {sorted(counts)}, frames {len(body)}")
    for name in ("eyeLeft", "eyeRight"):
        eye = scene.objects.get(name)
        data = eye.animation_data if eye is not None else None
        if data is None or data.action is None:
            print(f"note {name}: no rotation keys (the results carry no gaze)")
            continue
        eye_curves = [c for c in fcurves_of(data.action, getattr(data, "action_slot", None))
                      if c.data_path == "rotation_quaternion"]
        eye_counts = {len(c.keyframe_points) for c in eye_curves}
        report(f"{name} turns with the gaze", len(eye_curves) == 4 and eye_counts == {len(body)},
               f"{len(eye_curves)} rotation curves, keys per curve {sorted(eye_counts)}")
    jaw = next((c for c in curves if c.data_path == 'key_blocks["JawOpen"].value'), None)
    if jaw is None:
        report("JawOpen curve", False, "missing")
        return False
    column = curve_columns.index("JawOpen") + 2
    expected = [float(row[column]) for row in body]
    got = [point.co[1] for point in jaw.keyframe_points]
    error = max(abs(a - b) for a, b in zip(got, expected, strict=False)) if got else math.inf
    report("JawOpen curve equals the CSV column", len(got) == len(expected) and error <= JAW_TOLERANCE,
           f"max |difference| {error:.2e} over {len(got)} keys (tolerance {JAW_TOLERANCE:g})")
    first, last = int(jaw.keyframe_points[0].co[0]), int(jaw.keyframe_points[-1].co[0])
    worst_up = worst_front = 0.0
    for frame in range(first, last + 1):
        scene.frame_set(frame)
        rotation = face.matrix_world.to_3x3().normalized()
        up = rotation @ Vector((0.0, 0.0, 1.0))  # the head's +y (glTF) is the mesh's +Z in Blender
        front = rotation @ Vector((0.0, -1.0, 0.0))  # the face's +z (glTF) is the mesh's -Y
        worst_up = max(worst_up, math.degrees(up.angle(Vector((0.0, 0.0, 1.0)))))
        worst_front = max(worst_front, math.degrees(front.angle(Vector((0.0, -1.0, 0.0)))))
    scene.frame_set(first)
    report("head upright and facing the front view",
           worst_up <= UP_LIMIT_DEG and worst_front <= FRONT_LIMIT_DEG,
           f"frames {first}-{last}: up axis at most {worst_up:.1f} deg from +Z (limit {UP_LIMIT_DEG:g}), "
           f"facing axis at most {worst_front:.1f} deg from -Y (limit {FRONT_LIMIT_DEG:g})")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", nargs=2, type=Path, metavar=("GLB", "CSV"))
    parser.add_argument("--blender-python", default=None)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--space", default="gl", choices=("gl", "opencv"))
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    if args.check:
        sys.exit(0 if check(*args.check) else 1)
    if not args.blender_python:
        parser.error("--blender-python PY (a Python with the bpy wheel) is required")
    with tempfile.TemporaryDirectory(prefix="facefromx-blender-") as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        glb, table = export_take(folder, args.frames, args.space)
        done = subprocess.run([args.blender_python, __file__, "--check", str(glb), str(table)], check=False)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
