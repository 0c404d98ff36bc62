"""MediaPipe's BlazeFace face detector (short and full range) on LiteRT.

Our own pre- and post-processing, as MediaPipe's graphs do it:

1. The image is shrunk to fit the model's square input (128 px short range, 192 px full
   range) keeping its aspect ratio, padded with black (letterbox), scaled to [-1, 1].
2. Anchors (SSD, fixed size): short range strides 8 (2 anchors a cell) and 16 (6 a cell),
   896 anchors; full range stride 4 (1 a cell), 2304 anchors; centres at cell centres.
3. Each anchor's 16 regressors are the box centre offset, width, height and 6 keypoint
   offsets, in input pixels; the score is the sigmoid of its logit (clipped to +-100).
4. Weighted non-maximum suppression (IoU > 0.3 merge, score-weighted average of the boxes and
   keypoints, the best score kept).

Keypoints (the subject's): 0 right eye, 1 left eye, 2 nose tip, 3 mouth centre, 4 right ear
tragion, 5 left ear tragion. An upright face has keypoint 0 on the image's left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from runtime.mediapipe.files import load_model

__all__ = ["RANGES", "BlazeFaceDetector", "FaceDetection", "anchor_centres", "weighted_nms"]

# range -> (file, [(stride, anchors per cell)])
RANGES: dict[str, tuple[str, list[tuple[int, int]]]] = {
    "short": ("face_detection_short_range.tflite", [(8, 2), (16, 6)]),
    "full": ("face_detection_full_range.tflite", [(4, 1)]),
}


@dataclass(frozen=True, eq=False)
class FaceDetection:
    """One face found in an image.

    Attributes:
        box: (4,) float64 ``x0, y0, x1, y1`` in image pixels (pixel centres at integers),
            axis-aligned in the image.
        keypoints: (6, 2) float64 image pixels (see the module doc for the order).
        score: the detector's confidence in [0, 1].
    """

    box: np.ndarray
    keypoints: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """The box's longer side (pixels)."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    @property
    def centre(self) -> np.ndarray:
        """(2,) the box centre (pixels)."""
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2])

    @property
    def roll(self) -> float:
        """Radians: the direction from the right to the left eye keypoint in the image
        (0 for an upright face; the crop angle that shows it upright, see models.crop)."""
        d = self.keypoints[1] - self.keypoints[0]
        return math.atan2(float(d[1]), float(d[0]))


def anchor_centres(input_size: int, layout: list[tuple[int, int]]) -> np.ndarray:
    """(N, 2) float32 anchor centres in [0, 1] of the input (x, y), MediaPipe's order (per
    stride group: rows, columns, then the anchors of a cell)."""
    centres = []
    for stride, per_cell in layout:
        cells = int(math.ceil(input_size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression.

    Args:
        boxes: (N, 4) x0, y0, x1, y1; keypoints: (N, K, 2); scores: (N,).

    Returns:
        ``(box (4,), keypoints (K, 2), score)`` per face, best first: each the score-weighted
        mean of the candidates overlapping the best remaining one by more than ``iou_threshold``.
    """
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    out = []
    remaining = np.arange(len(scores))
    while remaining.size:
        overlap = _iou(boxes[remaining[0]], boxes[remaining]) > iou_threshold
        group = remaining[overlap]
        w = scores[group] / scores[group].sum()
        out.append((w @ boxes[group], np.tensordot(w, keypoints[group], axes=1), float(scores[group[0]])))
        remaining = remaining[~overlap]
    return out


class BlazeFaceDetector:
    """Faces in an RGB image: MediaPipe's short-range (faces within ~2 m, 128x128 input) or
    full-range (up to ~5 m, 192x192) BlazeFace.

    >>> detector = BlazeFaceDetector("short")
    >>> faces = detector.detect(rgb)          # list[FaceDetection], best first

    Args:
        face_range: ``short`` or ``full``.
        min_score: detections below this (sigmoid) score are dropped.
        iou_threshold: weighted NMS merge threshold.
        directory: model folder (default: the installed wheel's).
        threads: LiteRT CPU threads.
    """

    def __init__(self, face_range: str = "short", min_score: float = 0.5, iou_threshold: float = 0.3,
                 directory: Path | str | None = None, threads: int = 2):
        if face_range not in RANGES:
            raise ValueError(f"face_range must be one of {', '.join(RANGES)}, got {face_range!r}")
        file, layout = RANGES[face_range]
        self.name = f"blazeface-{face_range}"
        self.face_range = face_range
        self.model = load_model(file, directory, threads)
        self.input_size = int(self.model.input_shape[1])
        self.anchors = anchor_centres(self.input_size, layout)
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        boxes_out = [n for n in self.model.output_names if "regressor" in n]
        scores_out = [n for n in self.model.output_names if "classif" in n]
        self._boxes_out, self._scores_out = boxes_out[0], scores_out[0]

    def letterbox(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model input for ``rgb``: ``(tensor (1, S, S, 3) float32 in [-1, 1], scale (2,),
        offset (2,))``: an input point (continuous pixels, x y) ``u`` lies at the image's
        continuous ``(u - offset) / scale``."""
        h, w = rgb.shape[:2]
        s = self.input_size
        scale = s / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        canvas = np.zeros((s, s, 3), np.float32)
        ox, oy = (s - nw) // 2, (s - nh) // 2
        canvas[oy:oy + nh, ox:ox + nw] = small.astype(np.float32) * (2.0 / 255.0) - 1.0
        # Continuous coordinates: the resized image spans [ox, ox + nw) for [0, w) of the source.
        return canvas[None], np.array([nw / w, nh / h]), np.array([ox, oy], np.float64)

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]:
        """Faces in ``rgb``, best first.

        Args:
            rgb: (H, W, 3) uint8 RGB (a grey (H, W) image is repeated to 3 channels).

        Returns:
            :class:`FaceDetection` per face, in ``rgb``'s pixels (pixel centres at integers).
        """
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        if rgb.size == 0:
            return []
        tensor, scale, offset = self.letterbox(rgb)
        out = self.model.run(tensor)
        raw = out[self._boxes_out].reshape(-1, 16)
        logits = np.clip(out[self._scores_out].reshape(-1).astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep].astype(np.float64), scores[keep].astype(np.float64), self.anchors[keep]
        s = float(self.input_size)
        # Input pixels, continuous (anchor centres are fractions of the input).
        centre = raw[:, 0:2] + anchors * s
        half = np.abs(raw[:, 2:4]) / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :] * s
        faces = []
        for box, kps, score in weighted_nms(boxes, keypoints, scores, self.iou_threshold):
            # Input pixels (continuous) -> image pixels (continuous) -> pixel centres.
            box_img = (box - np.tile(offset, 2)) / np.tile(scale, 2) - 0.5
            kps_img = (kps - offset) / scale - 0.5
            faces.append(FaceDetection(box=box_img, keypoints=kps_img, score=score))
        return faces
