"""The embedded source's frames rendered once into the cache, then played back.

Why a rendered loop and not a render process beside the pipeline: one 640x480 synthetic frame
costs 25-55 ms of CPU (GL rasterisation on the CPU under EGL's software driver, sensor noise,
compositing), so rendering 30 frames a second takes most of one of the two cores we target,
whichever process does it; rendered in the pipeline's process it also holds the GIL, and
inference and refinement ran about three times slower (``main.py --headless --source
synthetic`` 40-48 ms median against 13 ms in ``benchmarks.pipeline``). Played back, a frame
costs a JPEG decode and a zlib inflate (3-5 ms, both outside the GIL), and the pipeline keeps
the cores.

The loop: the first ``length`` frames of the sequence (300: 10 s at 30 fps), played forwards
then backwards (:func:`loop_position`), so the motion never jumps (it reverses smoothly at
each end). Frame ``index`` of the stream carries its own index and timestamp and the ground
truth of the loop frame it shows. The first time a loop is needed it is rendered in a child
process (its own GL context; lowered priority) while the stream plays the frames it has
finished (until the child's first frame, a few seconds, frames are rendered in this process
so that the stream starts at once), then written to the cache folder (:func:`loop_folder`),
about 80 MB, under a name that holds the sequence's parameters and a digest of the rendering
code (a change of the renderer, the sensor model or the motion renders it again, and the
older loop is removed). Colour is stored as JPEG (quality 95, as a phone's takes are) and
depth as 0.1 mm integers (zlib), so frames differ from the live render by JPEG noise (~2.7
of 255 levels) and at most 0.05 mm of depth; the ground truth is stored exactly.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import shutil
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from models.errors import RenderError
from models.face_model.cache import cache_root
from models.frame import Frame, GroundTruth
from models.synthetic.actor import ActorSpec, SyntheticActor

log = logging.getLogger(__name__)

LOOP_FORMAT = 1
DEFAULT_LOOP_FRAMES = 300
DEPTH_UNIT_M = 1e-4  # stored depth step: 0.1 mm; 0 is invalid; up to 6.5 m
JPEG_QUALITY = 95
# The code whose change changes the pixels: a loop rendered by other code is not reused.
_RENDER_CODE = ("models/synthetic", "models/render", "models/sensor", "models/camera.py")
_GT_FIELDS = ("rotation", "translation", "expression", "vertices", "landmarks_2d")
_WAIT_S = 60.0  # longest wait for the child's next frame before giving up


def loop_position(index: int, length: int) -> int:
    """The loop frame that stream frame ``index`` shows: 0, 1, ..., length-1, length-2, ..., 1, 0, 1..."""
    if length <= 1:
        return 0
    period = 2 * (length - 1)
    k = index % period
    return k if k < length else period - k


def render_code_digest() -> str:
    """12 hex digits over the rendering code's sources (see ``_RENDER_CODE``)."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256(f"loop-format-{LOOP_FORMAT}".encode())
    for part in _RENDER_CODE:
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def loop_folder(spec: ActorSpec, length: int) -> Path:
    """Where the loop of ``spec`` is cached (``$FACEFROMX_CACHE_DIR`` or the user cache)."""
    name = (f"seed{spec.seed}-{spec.width}x{spec.height}-{spec.fps:g}fps-noise{int(spec.noise)}-"
            f"{length}f-{render_code_digest()}")
    return cache_root() / "synthetic-loops" / name


def encode_frame(frame: Frame) -> tuple[bytes, bytes]:
    """(JPEG of the colour, zlib of the depth in ``DEPTH_UNIT_M`` steps as little-endian uint16)."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RenderError("could not encode a synthetic frame as JPEG")
    depth = frame.depth
    steps = np.where(np.isfinite(depth) & (depth > 0), np.rint(depth / DEPTH_UNIT_M), 0)
    steps[steps > np.iinfo(np.uint16).max] = 0
    return jpeg.tobytes(), zlib.compress(steps.astype("<u2").tobytes(), 1)


def decode_frame(jpeg: bytes | np.ndarray, packed: bytes | np.ndarray, width: int,
                 height: int) -> tuple[np.ndarray, np.ndarray]:
    """((H, W, 3) uint8 RGB, (H, W) float32 metres, 0 invalid) from :func:`encode_frame`'s bytes."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape != (height, width, 3):
        raise RenderError("a cached synthetic frame is damaged (colour)")
    steps = np.frombuffer(zlib.decompress(packed), "<u2")
    if steps.size != width * height:
        raise RenderError("a cached synthetic frame is damaged (depth)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), steps.reshape(height, width).astype(np.float32) * np.float32(DEPTH_UNIT_M)


def _render_child(spec: ActorSpec, length: int, conn) -> None:  # pragma: no cover - runs in the child
    """Child process: render the loop frame by frame and send each one, encoded, to ``conn``."""
    try:
        os.nice(5)  # the pipeline beside it keeps priority
    except OSError:
        pass
    try:
        actor = SyntheticActor(spec)
        actor.open()
        for k in range(length):
            frame = actor.frame_at(k)
            truth = frame.ground_truth
            conn.send((k, *encode_frame(frame), tuple(getattr(truth, f) for f in _GT_FIELDS), truth.identity))
        conn.send(("done",))
    except Exception as exc:  # noqa: BLE001 - report anything to the parent, then end
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError):  # the parent has gone
            pass
    finally:
        conn.close()


class RenderedLoop:
    """The first ``length`` frames of ``spec``'s sequence, played back as an endless stream.

    :meth:`open` loads the cached loop, or starts rendering it in a child process;
    :meth:`frame_at` gives any stream frame (waiting, while the loop is being rendered, for the
    frame it shows). Thread-safe.
    """

    def __init__(self, spec: ActorSpec, length: int = DEFAULT_LOOP_FRAMES, folder: Path | None = None):
        if length < 1:
            raise ValueError(f"a loop needs at least one frame, got {length}")
        self.spec = spec
        self.length = length
        self.folder = folder or loop_folder(spec, length)
        self.intrinsics = spec.intrinsics
        self._cond = threading.Condition()
        self._jpeg: list[bytes | np.ndarray | None] = [None] * length
        self._depth: list[bytes | np.ndarray | None] = [None] * length
        self._truth: list[GroundTruth | None] = [None] * length
        self._error: str | None = None
        self._arrived = 0  # frames the child has sent
        self._actor: SyntheticActor | None = None  # renders here while the child starts
        self._last_arrival = 0.0
        self._process = None
        self._receiver: threading.Thread | None = None
        self._closing = False

    @property
    def ready(self) -> int:
        """How many loop frames are available."""
        with self._cond:
            return sum(t is not None for t in self._truth)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until every loop frame is there (rendered, or loaded); False on timeout or
        when the render failed or is not running."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while not all(t is not None for t in self._truth):
                if self._error is not None or self._process is None:
                    return False
                remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def open(self) -> None:
        if self._process is not None or self._truth[-1] is not None:
            return
        if self._load():
            return
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=False)
        self._closing = False
        self._last_arrival = time.monotonic() + 30.0  # the child's start-up (imports, face model, GL)
        self._process = context.Process(target=_render_child, args=(self.spec, self.length, child),
                                        name="facefromx-synthetic-loop", daemon=True)
        self._process.start()
        child.close()
        self._receiver = threading.Thread(target=self._receive, args=(parent,), name="facefromx-loop-receiver",
                                          daemon=True)
        self._receiver.start()
        log.info("rendering the synthetic loop (%d frames) into %s", self.length, self.folder)

    def close(self) -> None:
        """Stop a render under way (its frames are dropped; the next open starts over)."""
        process, self._process = self._process, None
        if self._actor is not None:
            self._actor.close()
            self._actor = None
        if process is not None:
            self._closing = True
            if process.is_alive():
                process.terminate()
            process.join(5.0)
            if self._receiver is not None:
                self._receiver.join(5.0)
            with self._cond:
                complete = self._truth[-1] is not None and all(t is not None for t in self._truth)
                if not complete:
                    self._jpeg = [None] * self.length
                    self._depth = [None] * self.length
                    self._truth = [None] * self.length

    def frame_at(self, index: int) -> Frame:
        """Stream frame ``index`` (from 0): the loop frame :func:`loop_position` gives, with
        this index and the timestamp ``index / fps``."""
        k = loop_position(index, self.length)
        with self._cond:
            starting = self._truth[k] is None and self._process is not None and self._arrived == 0
        if starting:  # the child is still starting (imports, face model, GL): render this one here
            return self._render_here(index, k)
        if self._actor is not None:
            self._actor.close()
            self._actor = None
        with self._cond:
            while self._truth[k] is None:
                if self._error is not None:
                    raise RenderError(f"could not render the synthetic source: {self._error}")
                if self._process is None:
                    raise RenderError("the synthetic loop is not open")
                if time.monotonic() - self._last_arrival > _WAIT_S:
                    raise RenderError(f"the synthetic loop renderer sent no frame for {_WAIT_S:.0f} s")
                self._cond.wait(0.5)
            jpeg, packed, truth = self._jpeg[k], self._depth[k], self._truth[k]
        rgb, depth = decode_frame(jpeg, packed, self.spec.width, self.spec.height)
        return Frame(index=index, timestamp=index / self.spec.fps, intrinsics=self.intrinsics, rgb=rgb,
                     depth=depth, ground_truth=truth)

    def _render_here(self, index: int, k: int) -> Frame:
        """Loop frame ``k`` rendered in this process (exact, not encoded), as stream frame ``index``."""
        if self._actor is None:
            self._actor = SyntheticActor(self.spec)
            self._actor.open()
        frame = self._actor.frame_at(k)
        return Frame(index=index, timestamp=index / self.spec.fps, intrinsics=self.intrinsics, rgb=frame.rgb,
                     depth=frame.depth, ground_truth=frame.ground_truth)

    # -- the render child's frames (receiver thread) -----------------------------------------------

    def _receive(self, conn) -> None:
        try:
            while True:
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = ("error", "the renderer process ended early")
                if message[0] == "done":
                    break
                if message[0] == "error":
                    with self._cond:
                        if not self._closing:
                            self._error = message[1]
                        self._cond.notify_all()
                    return
                k, jpeg, packed, fields, identity = message
                truth = GroundTruth(identity=identity, **dict(zip(_GT_FIELDS, fields, strict=True)))
                with self._cond:
                    self._jpeg[k], self._depth[k], self._truth[k] = jpeg, packed, truth
                    self._arrived += 1
                    self._last_arrival = time.monotonic()
                    self._cond.notify_all()
        finally:
            conn.close()
        self._save()

    # -- the cache folder ---------------------------------------------------------------------------

    def _save(self) -> None:
        """Write the complete loop to :attr:`folder` (atomically: a temporary folder renamed)."""
        partial = self.folder.with_name(f"{self.folder.name}.partial-{os.getpid()}")
        try:
            partial.mkdir(parents=True, exist_ok=True)
            for name, blobs in (("rgb", self._jpeg), ("depth", self._depth)):
                sizes = np.array([len(b) for b in blobs], np.int64)
                np.save(partial / f"{name}_offsets.npy", np.concatenate([[0], np.cumsum(sizes)]))
                np.save(partial / f"{name}.npy", np.frombuffer(b"".join(bytes(b) for b in blobs), np.uint8))
            for name in _GT_FIELDS:
                np.save(partial / f"{name}.npy", np.stack([getattr(t, name) for t in self._truth]))
            np.save(partial / "identity.npy", self._truth[0].identity)
            os.replace(partial, self.folder)
            log.info("synthetic loop cached in %s", self.folder)
            stem = self.folder.name.rsplit("-", 1)[0]
            for stale in self.folder.parent.glob(f"{stem}-*"):  # rendered by older code
                if stale != self.folder and ".partial-" not in stale.name:
                    shutil.rmtree(stale, ignore_errors=True)
        except OSError as exc:
            log.warning("could not cache the synthetic loop in %s (%s); it plays from memory", self.folder, exc)
            shutil.rmtree(partial, ignore_errors=True)

    def _load(self) -> bool:
        """Load a cached loop (memory-mapped); False when there is none or it is unreadable."""
        if not self.folder.is_dir():
            return False
        try:
            arrays = {name: np.load(self.folder / f"{name}.npy", mmap_mode="r")
                      for name in ("rgb", "rgb_offsets", "depth", "depth_offsets", "identity", *_GT_FIELDS)}
            if len(arrays["rgb_offsets"]) != self.length + 1 or len(arrays["vertices"]) != self.length:
                raise ValueError("wrong length")
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable synthetic loop %s (%s)", self.folder, exc)
            return False
        ro, do = np.asarray(arrays["rgb_offsets"]), np.asarray(arrays["depth_offsets"])
        identity = np.array(arrays["identity"])
        with self._cond:
            for k in range(self.length):
                self._jpeg[k] = arrays["rgb"][ro[k]:ro[k + 1]]
                self._depth[k] = arrays["depth"][do[k]:do[k + 1]]
                self._truth[k] = GroundTruth(identity=identity, **{name: np.array(arrays[name][k])
                                                                   for name in _GT_FIELDS})
        return True
