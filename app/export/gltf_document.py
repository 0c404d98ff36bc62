"""A glTF 2.0 document and its one binary buffer, built from numpy arrays with ``pygltflib``.

>>> doc = GltfDocument("FaceFromX")
>>> positions = doc.accessor(vertices, target=ARRAY_BUFFER, bounds=True)   # (N, 3) float32
>>> data = doc.to_bytes(binary=True)                                        # the .glb file

Each array becomes a buffer view (4-byte aligned, as glTF requires for float and int data) in
a single buffer; :meth:`GltfDocument.to_bytes` gives a ``.glb`` (JSON chunk + BIN chunk,
through pygltflib's writer) or a self-contained ``.gltf`` (JSON with the buffer as a base64
data URI).
"""

from __future__ import annotations

import base64

import numpy as np
import pygltflib

ARRAY_BUFFER = pygltflib.ARRAY_BUFFER
ELEMENT_ARRAY_BUFFER = pygltflib.ELEMENT_ARRAY_BUFFER

_COMPONENTS = {
    np.dtype(np.float32): pygltflib.FLOAT,
    np.dtype(np.uint32): pygltflib.UNSIGNED_INT,
    np.dtype(np.uint16): pygltflib.UNSIGNED_SHORT,
    np.dtype(np.uint8): pygltflib.UNSIGNED_BYTE,
}
_TYPES = {1: pygltflib.SCALAR, 2: pygltflib.VEC2, 3: pygltflib.VEC3, 4: pygltflib.VEC4}


def _element_type(array: np.ndarray) -> str:
    width = 1 if array.ndim == 1 else array.shape[1]
    if array.ndim > 2 or width not in _TYPES:
        raise ValueError(f"cannot store an array of shape {array.shape} in a glTF accessor")
    return _TYPES[width]


def index_dtype(count: int) -> np.dtype:
    """The smallest glTF index type for indices below ``count``."""
    return np.dtype(np.uint16) if count <= 0xFFFF else np.dtype(np.uint32)


class GltfDocument:
    """A :class:`pygltflib.GLTF2` under construction (:attr:`gltf`) plus its binary data."""

    def __init__(self, generator: str):
        self.gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator=generator))
        self._blob = bytearray()

    @property
    def byte_length(self) -> int:
        return len(self._blob)

    def view(self, array: np.ndarray, target: int | None = None) -> int:
        """Append ``array``'s bytes (little-endian, C order) as a buffer view; its index."""
        data = np.ascontiguousarray(array)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        self._blob.extend(b"\0" * (-len(self._blob) % 4))
        offset = len(self._blob)
        self._blob.extend(data.tobytes())
        self.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=offset,
                                                          byteLength=data.nbytes, target=target))
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, *, target: int | None = None, bounds: bool = False,
                 name: str | None = None) -> int:
        """An accessor over a new view of ``array`` ((K,) or (K, 1..4) of a glTF component
        type); ``bounds`` adds the per-component min and max (required for POSITION and for
        animation inputs). Returns its index."""
        array = np.asarray(array)
        accessor = pygltflib.Accessor(
            bufferView=self.view(array, target), componentType=_COMPONENTS[array.dtype],
            count=int(array.shape[0]), type=_element_type(array), name=name)
        if bounds:
            accessor.min, accessor.max = _bounds(array)
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def sparse_accessor(self, count: int, indices: np.ndarray, values: np.ndarray, *,
                        name: str | None = None) -> int:
        """A float32 VEC3 accessor of ``count`` elements, zero except ``values`` (K, 3) at
        ``indices`` (K,) (strictly increasing), with the bounds of the whole array."""
        values = np.asarray(values, dtype=np.float32)
        indices = np.asarray(indices).astype(index_dtype(count))
        full_min, full_max = _bounds(values) if len(values) else ([0.0] * 3, [0.0] * 3)
        if len(values) < count:  # the zeros count too
            full_min = [min(v, 0.0) for v in full_min]
            full_max = [max(v, 0.0) for v in full_max]
        accessor = pygltflib.Accessor(componentType=pygltflib.FLOAT, count=int(count), byteOffset=None,
                                      type=pygltflib.VEC3, name=name, min=full_min, max=full_max)
        if len(values):
            accessor.sparse = pygltflib.Sparse(
                count=len(values),
                indices=pygltflib.AccessorSparseIndices(bufferView=self.view(indices),
                                                        componentType=_COMPONENTS[indices.dtype]),
                values=pygltflib.AccessorSparseValues(bufferView=self.view(values)))
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def to_bytes(self, binary: bool) -> list[bytes | bytearray]:
        """The file's bytes, in pieces: a ``.glb`` when ``binary``, else a ``.gltf`` (JSON)."""
        self._blob.extend(b"\0" * (-len(self._blob) % 4))
        if binary:
            self.gltf.buffers = [pygltflib.Buffer(byteLength=len(self._blob))]
            self.gltf.set_binary_blob(bytes(self._blob))
            return list(self.gltf.save_to_bytes())
        uri = pygltflib.DATA_URI_HEADER + base64.b64encode(self._blob).decode("ascii")
        self.gltf.buffers = [pygltflib.Buffer(byteLength=len(self._blob), uri=uri)]
        return [self.gltf.gltf_to_json(separators=(",", ":"), indent=None).encode("utf-8")]


def _bounds(array: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-component min and max as Python numbers (float32 values are exact in JSON)."""
    data = array.reshape(len(array), -1)
    if len(data) == 0:
        raise ValueError("an accessor with bounds needs at least one element")
    cast = int if np.issubdtype(array.dtype, np.integer) else float
    return [cast(v) for v in data.min(axis=0)], [cast(v) for v in data.max(axis=0)]
