"""Small faces in large images: detection on a pyramid of overlapping tiles, merged by NMS.

A detector network takes inputs of at most ``max_side`` pixels (YuNet: 640) and finds faces
of at least ``net_min_face`` pixels in its input (YuNet: ~16, we use 20). One pass on a
downscaled copy of a 9000x6000 photo (factor 14) misses every face under ~280 px. Instead:

* the whole image is detected once at ``max_side`` (the large faces);
* finer levels, each twice as fine as the next, down to the level where a face of
  ``min_face`` original pixels is ``net_min_face`` pixels, are cut into ``max_side`` tiles
  that overlap by ``4 * net_min_face`` pixels;
* a face that a level is needed for is at most ``2 * net_min_face`` pixels there (larger ones
  are found one level coarser), so it lies whole inside some tile; detections touching a
  tile's inner edge (cut faces) are dropped, and one face found in several tiles or levels
  is kept once by non-maximum suppression.

Images no larger than ``max_side``, or ones where ``min_face`` original pixels are already
``net_min_face`` pixels in the whole-image pass (up to 2048 px: 1080p frames), take the single
pass alone. Timing (docs/en/inference.md, "Faces in large photos"): a 9000x6000 photo is 29
YuNet calls, ~1.6 s on one CPU thread (the single pass: 0.24 s).
"""
from typing import Callable, List

import numpy as np

from .base_face_analysis import FaceDetections, box_iou

__all__ = ['detect_multiscale', 'pyramid_levels', 'tile_starts', 'nms']

_EDGE = 2.0  # px: a box this close to a tile's inner edge may be a cut face


def pyramid_levels(height: int, width: int, max_side: int, min_face: float,
                   net_min_face: float) -> List[float]:
    """Downscale factors of the levels, finest first; the last is the whole-image pass."""
    coarse = max(height, width) / max_side
    if coarse <= 1:
        return [1.0]
    levels = []
    f = max(1.0, min_face / net_min_face) if min_face > 0 else coarse
    while f < coarse:
        levels.append(f)
        f *= 2
    return levels + [coarse]


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Evenly spaced starts of ``tile``-long windows covering ``length``, overlapping by at
    least ``overlap``."""
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / (tile - overlap))) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind='stable')
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        order = rest[box_iou(boxes[i], boxes[rest]) <= iou]
    return np.asarray(keep, np.int64)


def detect_multiscale(image: np.ndarray, detect: Callable[[np.ndarray], FaceDetections],
                      max_side: int = 640, min_face: float = 64.0, net_min_face: float = 20.0,
                      iou: float = 0.3) -> FaceDetections:
    """Faces of ``image`` ``(H, W, 3)``, found with ``detect`` (one input of at most
    ``max_side`` x ``max_side``) on the pyramid of tiles above; every face of at least
    ``min_face`` px (box side) is inside a tile at ``net_min_face`` px or more
    (``min_face=0``: the whole-image pass only). Highest score first."""
    import cv2
    h, w = image.shape[:2]
    levels = pyramid_levels(h, w, max_side, min_face, net_min_face)
    if levels == [1.0]:
        return detect(image)
    overlap = int(4 * net_min_face)
    boxes, scores, kps = [], [], []
    level = image
    for f in levels:
        size = (max(1, round(w / f)), max(1, round(h / f)))
        if size != (level.shape[1], level.shape[0]):
            # each level from the previous one (a halving), not from the full image: cheaper
            level = cv2.resize(level, size, interpolation=cv2.INTER_AREA)
        lh, lw = level.shape[:2]
        for y in tile_starts(lh, max_side, overlap):
            for x in tile_starts(lw, max_side, overlap):
                tile = level[y:y + max_side, x:x + max_side]
                det = detect(np.ascontiguousarray(tile))
                if not len(det):
                    continue
                th, tw = tile.shape[:2]
                b = det.boxes
                cut = ((x > 0) & (b[:, 0] < _EDGE)) | ((y > 0) & (b[:, 1] < _EDGE)) | \
                    ((x + tw < lw) & (b[:, 2] > tw - _EDGE)) | \
                    ((y + th < lh) & (b[:, 3] > th - _EDGE))
                ok = ~cut
                scale = np.array([w / lw, h / lh])
                boxes.append((b[ok] + np.array([x, y, x, y])) * np.tile(scale, 2))
                scores.append(det.scores[ok])
                kps.append(None if det.keypoints is None
                           else (det.keypoints[ok] + [x, y]) * scale)
    if not boxes or not sum(len(s) for s in scores):
        return FaceDetections.empty()
    boxes_a, scores_a = np.concatenate(boxes), np.concatenate(scores)
    keep = nms(boxes_a, scores_a, iou)
    kps_a = None if any(k is None for k in kps) else np.concatenate(kps)[keep].astype(np.float32)
    return FaceDetections(boxes_a[keep].astype(np.float32), scores_a[keep].astype(np.float32),
                          kps_a)
