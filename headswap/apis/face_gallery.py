"""Faces to choose from in interactive front ends (the web demo): thumbnails of the faces of a
photo or of a video's first frame, in the order of :class:`~.face_selection.FaceSelector`'s
face numbers (1, 2, ... left to right among confident detections), and a source photo
reduced to one chosen face."""
from typing import List, Tuple

import cv2
import numpy as np

from headswap.errors import UserError
from headswap.face.providers.base_face_analysis import FaceDetections
from .face_selection import CONFIDENT_FACE_SCORE, confident_faces
from .media import VideoReader, input_kind, read_image

__all__ = ['first_frame', 'faces_left_to_right', 'face_thumbnails', 'keep_one_face']


def first_frame(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB: the image itself, or the first decodable frame of a video."""
    if input_kind(path) == 'image':
        return read_image(path)
    reader = VideoReader(path, max_frames=1)
    for _, frame in reader:
        return frame
    why = reader.end.error if reader.end is not None and reader.end.error else 'no frames'
    raise UserError(f'{path}: {why}')


def faces_left_to_right(analysis, image: np.ndarray,
                        min_score: float = CONFIDENT_FACE_SCORE) -> FaceDetections:
    """The faces the inferencer would count in ``image`` (confident detections, or all when
    none is confident), by box centre from the left: position ``i`` is face number ``i + 1``
    of ``target_face`` / ``source_face``."""
    det = analysis.detect([image])[0]
    order = confident_faces(det, min_score)
    kps = None if det.keypoints is None else det.keypoints[order]
    return FaceDetections(det.boxes[order], det.scores[order], kps)


def _expanded(box: np.ndarray, margin: float, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    h, w = shape[:2]
    return (int(max(0, x1 - mx)), int(max(0, y1 - my)), int(min(w, x2 + mx)),
            int(min(h, y2 + my)))


def face_thumbnails(analysis, image: np.ndarray, size: int = 112,
                    margin: float = 0.3) -> List[np.ndarray]:
    """``[(size, size, 3)]`` uint8 crops of the faces of ``image``, left to right (each box
    widened by ``margin`` of its side, letterboxed to a square)."""
    thumbs = []
    for box in faces_left_to_right(analysis, image).boxes:
        x1, y1, x2, y2 = _expanded(box, margin, image.shape)
        crop = image[y1:y2, x1:x2]
        scale = size / max(crop.shape[:2])
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                 max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
        thumb = np.full((size, size, 3), 255, np.uint8)
        top, left = (size - crop.shape[0]) // 2, (size - crop.shape[1]) // 2
        thumb[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
        thumbs.append(thumb)
    return thumbs


def keep_one_face(analysis, image: np.ndarray, index: int, margin: float = 0.15) -> np.ndarray:
    """A copy of ``image`` in which every face but the ``index``-th (left to right) is covered
    with the image's mean colour, so that a source bank taking the largest face takes it."""
    det = faces_left_to_right(analysis, image)
    if not 0 <= index < len(det):
        raise UserError(f'face {index} chosen, but the photo has {len(det)} face(s)')
    out = image.copy()
    keep = _expanded(det.boxes[index], 0.0, image.shape)
    mean = image.reshape(-1, 3).mean(0).astype(np.uint8)
    for i, box in enumerate(det.boxes):
        if i != index:
            x1, y1, x2, y2 = _expanded(box, margin, image.shape)
            out[y1:y2, x1:x2] = mean
    kx1, ky1, kx2, ky2 = keep  # the chosen face stays whole where covers overlap it
    out[ky1:ky2, kx1:kx2] = image[ky1:ky2, kx1:kx2]
    return out
