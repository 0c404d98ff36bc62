"""glTF 2.0 rigs (``NAME.glb``, ``NAME.gltf``): the actor's face with ARKit morph targets, animated.

One file holds (all lengths in metres; the head frame is glTF's asset frame, +y up, the face
toward +z)::

    scene
      face        node: mesh "face" + the head's rotation and translation, per frame
        eyeLeft   node: mesh "eyeLeft" at the eyeball's centre, turning with the gaze
        eyeRight  node: mesh "eyeRight"
      camera      node: the capture camera at the origin (a glTF perspective camera)
    animation "take": every source frame at t = frame / fps, linear keys:
      face.translation, face.rotation, face.weights (52 per frame), eye rotations (with gaze)

- Mesh "face": the face region the other exporters write, for the take's settled identity
  (the identity of the last frame with a face) plus the detail layer (the mean, over the
  take, of what the exported meshes hold beyond the linear face model: the decoder's
  corrective), with normals and UVs; 52 morph targets named (``mesh.extras.targetNames``,
  which Blender, three.js and Babylon read) like the Live Link Face CSV columns
  (:data:`models.arkit_values.CURVE_NAMES`: ``EyeBlinkLeft`` ... ``JawOpen`` ...
  ``TongueOut``), sparse and trimmed (:mod:`app.export.gltf_rig` says what the split ICT pairs
  and ``TongueOut`` become).
- Weights: :func:`models.arkit_values.arkit_values` of each frame, so they equal the CSV's
  curve columns. The node transform is camera from head in the export space (``gl`` by
  default, as for Alembic: the head comes in upright and facing the front view; ``opencv``
  gives the pipeline's frame), so ``T * R * (base + sum w_j target_j)`` is the exported mesh.
- Eyes: ICT-FaceKit's eyeballs, with rotation keys from the result's gaze (yaw, pitch in the
  head frame, the CSV's eye angles); written only when some frame has gaze.
- Camera: ``yfov = 2 atan(height / 2 fy)``, ``aspectRatio = (width / fx) / (height / fy)``;
  core glTF has no principal point and no animated camera, so the first frame's intrinsics
  are also stored in ``cameras[0].extras`` (pixels) for tools that want them.
- Frames with no face hold the previous weights and pose (frames before the first face: the
  neutral weights, as in the CSV, at the first face's pose), so keys stay one per source frame.

Streaming: per frame only the time, 52 weights, the pose and the gaze are kept (328 bytes),
plus two running sums for the detail layer; the document is built and written at commit
through :class:`~app.export.target.AtomicFile`, so a failed or cancelled export leaves no file.

Library: ``pygltflib`` (a typed model of the whole glTF 2.0 schema: sparse accessors, morph
targets, animations, cameras, and a GLB writer) rather than ``trimesh``'s exporter, which
writes meshes and scenes but has no morph targets, animations or sparse accessors (its
maintainer: no animation is implemented; a post-processing hook leaves packing them to the
caller), or ``gltflib`` (no release since 2022). pygltflib leaves the binary layout to the
caller, which :mod:`app.export.gltf_document` does from numpy arrays. Normals have no morph
targets, which keeps the file small: Blender recomputes them; other viewers keep the base
normals.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation

from app.export.base import Exporter, ExportSession
from app.export.errors import ExportError
from app.export.frames import ExportFrame
from app.export.gltf_document import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GltfDocument, index_dtype
from app.export.gltf_rig import (
    DetailLayer,
    RigMesh,
    continuous_quaternions,
    eye_quaternions,
    eyes,
    face_mesh,
    morph_targets,
)
from app.export.mesh import face_topology
from app.export.space import Space, points_to_space, rotation_to_space
from app.export.target import AtomicFile
from models.arkit_values import CURVE_COUNT, CURVE_NAMES, arkit_values
from models.camera import Intrinsics
from models.face_model import FaceModel

log = logging.getLogger(__name__)

APPLICATION = "FaceFromX"
ANIMATION = "take"
FACE_NODE, CAMERA_NODE = "face", "camera"
NEAR_CLIP_M = 0.01
FAR_CLIP_M = 100.0
SKIN_RGBA = (0.80, 0.62, 0.54, 1.0)
EYE_RGBA = (0.92, 0.91, 0.88, 1.0)
# Columns of arkit_values: left eye yaw, pitch and right eye yaw, pitch.
_EYE_COLUMNS = (CURVE_COUNT + 3, CURVE_COUNT + 4, CURVE_COUNT + 6, CURVE_COUNT + 7)


class _Rows:
    """A growing (F, width) table (amortised doubling; ``rows`` is a view)."""

    def __init__(self, width: int, dtype: type = np.float64):
        self._data = np.empty((256, width), dtype)
        self.count = 0

    def append(self, row: np.ndarray) -> None:
        if self.count == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.count] = row
        self.count += 1

    @property
    def rows(self) -> np.ndarray:
        return self._data[: self.count]


class GltfSession(ExportSession):
    """Streaming glTF rig writer (see the module docstring)."""

    format_name = "glTF"

    def __init__(self, path: str | os.PathLike, *, fps: float, face_model: FaceModel, space: Space = "gl",
                 binary: bool | None = None):
        super().__init__(path, fps=fps, face_model=face_model, space=space)
        self.binary = self.path.suffix.lower() != ".gltf" if binary is None else binary
        self.topology = face_topology(face_model)
        self._arkit = face_model.arkit_matrix.astype(np.float64)
        self._detail = DetailLayer(face_model)
        self._times = _Rows(1)
        self._weights = _Rows(CURVE_COUNT, np.float32)  # what glTF stores anyway
        self._poses = _Rows(12)  # camera from head (OpenCV): rotation row-major, translation; NaN before a face
        self._gaze = _Rows(4, np.float32)
        self._has_gaze = False
        self._identity: np.ndarray | None = None
        self._intrinsics: Intrinsics | None = None
        self.missing_frames: list[int] = []
        self._target = AtomicFile(self.path)

    # -- per frame ---------------------------------------------------------------------------------

    def _write_frame(self, frame: ExportFrame) -> None:
        face = frame.held
        values = arkit_values(face, self._arkit)
        self._times.append(frame.index / self.fps)
        self._weights.append(values[:CURVE_COUNT])
        self._gaze.append(values[list(_EYE_COLUMNS)])
        if not frame.found:
            self.missing_frames.append(frame.index)
        if face is None:
            self._poses.append(np.full(12, np.nan))
            return
        if face.rotation is None or face.translation is None:
            raise ExportError(f"frame {face.index}: a face without a pose cannot be exported to glTF")
        rotation = np.asarray(face.rotation, np.float64)
        translation = np.asarray(face.translation, np.float64)
        self._poses.append(np.concatenate([rotation.ravel(), translation]))
        self._has_gaze |= face.gaze is not None
        if self._intrinsics is None:
            self._intrinsics = frame.intrinsics
        if frame.found:  # a held face is the same mesh again: count each face once
            vertices = self.topology.check_vertices(face.vertices, face.index)
            self._detail.add((vertices - translation.astype(np.float32)) @ rotation.astype(np.float32),
                             face.identity, face.expression)
            self._identity = None if face.identity is None else np.asarray(face.identity, np.float32)

    # -- commit ------------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self._detail.count == 0:
            raise ExportError(f"cannot export {self.path}: no face was found in any of the "
                              f"{self.frames_written} frames")
        base = self.face_model.vertices(self._identity, None, region="face") + self._detail.mean
        log.info("glTF rig: detail layer up to %.2f mm, varying by up to %.2f mm over the take",
                 1000 * float(np.linalg.norm(self._detail.mean, axis=1).max()), 1000 * self._detail.spread_m())
        document = self._document(base)
        for piece in document.to_bytes(self.binary):
            self._target.write(piece)
        self._target.commit()

    def _discard(self) -> None:
        self._target.abort()

    # -- the document --------------------------------------------------------------------------------

    def _document(self, base: np.ndarray) -> GltfDocument:
        doc = GltfDocument(APPLICATION)
        gltf = doc.gltf
        gltf.materials = [_material("skin", SKIN_RGBA), _material("eye", EYE_RGBA)]
        face = face_mesh(self.face_model, base)
        targets = [{"POSITION": doc.sparse_accessor(len(face.positions), indices, offsets, name=name)}
                   for name, (indices, offsets) in zip(CURVE_NAMES, morph_targets(self.face_model), strict=True)]
        gltf.meshes.append(_mesh(doc, face, material=0, targets=targets))
        gltf.meshes[0].weights = [0.0] * CURVE_COUNT
        gltf.meshes[0].extras = {
            "targetNames": list(CURVE_NAMES),
            "faceModelVertices": int(self.topology.num_vertices),
            "seamVertices": face.source[self.topology.num_vertices:].tolist(),
        }
        rotations, translations = self._pose_tracks()
        face_node = pygltflib.Node(name=FACE_NODE, mesh=0, rotation=rotations[0].tolist(),
                                   translation=translations[0].tolist())
        gltf.nodes.append(face_node)
        eye_nodes = []
        for eye in eyes(self.face_model, self._identity):
            gltf.meshes.append(_mesh(doc, eye.mesh, material=1))
            gltf.nodes.append(pygltflib.Node(name=eye.name, mesh=len(gltf.meshes) - 1,
                                             translation=eye.centre.tolist()))
            eye_nodes.append(len(gltf.nodes) - 1)
        face_node.children = eye_nodes
        gltf.cameras.append(self._camera())
        # Cameras look down -z with y up: the gl camera frame; in opencv a half turn about x.
        turn = [0.0, 0.0, 0.0, 1.0] if self.space == "gl" else [1.0, 0.0, 0.0, 0.0]
        gltf.nodes.append(pygltflib.Node(name=CAMERA_NODE, camera=0, rotation=turn))
        gltf.scenes = [pygltflib.Scene(name=APPLICATION, nodes=[0, len(gltf.nodes) - 1])]
        gltf.scene = 0
        gltf.animations = [self._animation(doc, rotations, translations, eye_nodes)]
        gltf.asset.extras = {
            "fps": self.fps, "firstFrame": int(round(self._times.rows[0, 0] * self.fps)),
            "frames": self._times.count, "space": self.space, "missingFrames": self.missing_frames,
            "units": "metres",
        }
        return doc

    def _pose_tracks(self) -> tuple[np.ndarray, np.ndarray]:
        """(F, 4) continuous quaternions and (F, 3) translations, export space; frames before
        the first face take its pose."""
        poses = self._poses.rows.copy()
        known = ~np.isnan(poses[:, 0])
        poses[: np.argmax(known)] = poses[np.argmax(known)]
        rotations = np.stack([rotation_to_space(r, self.space) for r in poses[:, :9].reshape(-1, 3, 3)])
        quaternions = continuous_quaternions(Rotation.from_matrix(rotations).as_quat())
        return quaternions.astype(np.float32), points_to_space(poses[:, 9:], self.space).astype(np.float32)

    def _animation(self, doc: GltfDocument, rotations: np.ndarray, translations: np.ndarray,
                   eye_nodes: list[int]) -> pygltflib.Animation:
        times = doc.accessor(self._times.rows[:, 0].astype(np.float32), bounds=True, name="time")
        animation = pygltflib.Animation(name=ANIMATION)

        def channel(node: int, path: str, values: np.ndarray, name: str) -> None:
            animation.samplers.append(pygltflib.AnimationSampler(
                input=times, output=doc.accessor(values, name=name), interpolation=pygltflib.ANIM_LINEAR))
            animation.channels.append(pygltflib.AnimationChannel(
                sampler=len(animation.samplers) - 1, target=pygltflib.AnimationChannelTarget(node=node, path=path)))

        channel(0, "translation", translations, "head translation")
        channel(0, "rotation", rotations, "head rotation")
        channel(0, "weights", self._weights.rows.astype(np.float32).reshape(-1), "ARKit weights")
        if self._has_gaze:
            gaze = self._gaze.rows
            for node, (yaw, pitch) in zip(eye_nodes, ((0, 1), (2, 3)), strict=True):
                quaternions = continuous_quaternions(eye_quaternions(gaze[:, yaw], gaze[:, pitch]))
                channel(node, "rotation", quaternions.astype(np.float32), f"{doc.gltf.nodes[node].name} rotation")
        return animation

    def _camera(self) -> pygltflib.Camera:
        k = self._intrinsics
        return pygltflib.Camera(
            name="capture camera", type=pygltflib.PERSPECTIVE,
            perspective=pygltflib.Perspective(yfov=float(2 * np.arctan(k.height / (2 * k.fy))),
                                              aspectRatio=float((k.width / k.fx) / (k.height / k.fy)),
                                              znear=NEAR_CLIP_M, zfar=FAR_CLIP_M),
            extras={"intrinsics": k.to_dict()})


def _material(name: str, rgba: tuple[float, float, float, float]) -> pygltflib.Material:
    return pygltflib.Material(name=name, pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
        baseColorFactor=list(rgba), metallicFactor=0.0, roughnessFactor=0.6))


def _mesh(doc: GltfDocument, mesh: RigMesh, material: int, targets: list[dict] | None = None) -> pygltflib.Mesh:
    attributes = pygltflib.Attributes(
        POSITION=doc.accessor(mesh.positions, target=ARRAY_BUFFER, bounds=True, name=f"{mesh.name} positions"),
        NORMAL=doc.accessor(mesh.normals, target=ARRAY_BUFFER, name=f"{mesh.name} normals"),
        TEXCOORD_0=doc.accessor(mesh.uvs, target=ARRAY_BUFFER, name=f"{mesh.name} uvs"))
    indices = doc.accessor(mesh.triangles.astype(index_dtype(len(mesh.positions))).ravel(),
                           target=ELEMENT_ARRAY_BUFFER, name=f"{mesh.name} triangles")
    primitive = pygltflib.Primitive(attributes=attributes, indices=indices, material=material,
                                    mode=pygltflib.TRIANGLES, targets=targets or [])
    return pygltflib.Mesh(name=mesh.name, primitives=[primitive])


class GltfExporter(Exporter):
    """A glTF 2.0 rig ``NAME.glb`` (binary) or ``NAME.gltf`` (JSON, buffer embedded)."""

    format_name = "glTF"

    def __init__(self, path: str | os.PathLike):
        super().__init__(Path(path))

    def open(self, *, fps: float, face_model: FaceModel, space: Space = "gl") -> GltfSession:
        return GltfSession(self.path, fps=fps, face_model=face_model, space=space)
