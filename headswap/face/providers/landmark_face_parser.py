from typing import Optional, Sequence

import numpy as np

from headswap.registry import MODELS
from .base_face_analysis import BaseFaceParser
from .packaged_models import packaged_model_file, read_tflite

__all__ = ['LandmarkFaceParser']

# label ids (docs/en/data_format.md)
_SKIN, _L_BROW, _R_BROW, _L_EYE, _R_EYE, _L_EAR, _R_EAR = 1, 2, 3, 4, 5, 7, 8
_NOSE, _MOUTH, _U_LIP, _L_LIP, _NECK, _CLOTH, _HAIR = 10, 11, 12, 13, 14, 16, 17


@MODELS.register_module()
class LandmarkFaceParser(BaseFaceParser):
    """APPROXIMATE face parsing from 68 landmarks and a person segmentation.

    For users without face-parsing weights (none install from a package
    registry) and for the bundled sample. It writes the same 19-label maps as a
    trained parser, but only these labels, by geometry:

    * person vs background: MediaPipe's selfie-segmentation model (Apache-2.0,
      shipped in the ``mediapipe`` wheel, run with OpenCV's DNN module);
    * face parts from landmark polygons: skin (jaw line + a forehead arc
      mirrored from the jaw about the eye line), brows, eyes, nose, mouth and
      lips; ears as ellipses beside the jaw;
    * below the chin: neck in a column under the jaw, cloth elsewhere;
      remaining person pixels above the chin: hair.

    Glasses, earrings, necklaces and hats are never produced, hair is only
    "person minus face", and ``l_*`` means the part on the image's left (as in
    the iBUG layout). Maps made by it are marked ``parser='LandmarkFaceParser
    (approximate)'`` in the index metainfo; train real models on maps from a
    trained parser (:class:`MMSegFaceParser`).

    Args:
        segmenter_path: A ``selfie_segmentation.tflite`` file; None for the
            one in the installed ``mediapipe`` wheel.
        forehead_ratio: Height of the forehead arc above the eye line, as a
            fraction of the eye-line-to-chin distance.
        neck_length: Length of the neck below the chin, same unit.
        person_threshold: Probability above which a pixel is a person.
    """

    name = 'LandmarkFaceParser (approximate: landmark polygons + selfie segmentation)'
    needs_landmarks = True

    def __init__(self, segmenter_path: Optional[str] = None, forehead_ratio: float = 0.75,
                 neck_length: float = 0.55, person_threshold: float = 0.5):
        self.segmenter_path = packaged_model_file(
            'mediapipe', 'modules/selfie_segmentation/selfie_segmentation.tflite',
            'mediapipe==0.10.21', segmenter_path)
        self._net = read_tflite(self.segmenter_path)
        self.forehead_ratio = forehead_ratio
        self.neck_length = neck_length
        self.person_threshold = person_threshold

    def person_probability(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``B`` RGB images -> ``(B, H, W)`` float32 person probabilities."""
        import cv2
        blob = np.stack([cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
                         for img in images]).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        self._net.setInput(np.ascontiguousarray(blob))
        prob = self._net.forward().reshape(len(images), 256, 256)
        return np.stack([cv2.resize(p, (img.shape[1], img.shape[0]),
                                    interpolation=cv2.INTER_LINEAR)
                         for p, img in zip(prob, images)])

    def parse(self, images: Sequence[np.ndarray],
              landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        if landmarks is None:
            raise ValueError('LandmarkFaceParser needs the (B, 68, 2) landmarks of the crops')
        if len(images) == 0:
            return np.zeros((0, 0, 0), np.uint8)
        person = self.person_probability(images) > self.person_threshold
        return np.stack([self._parse_one(p, np.asarray(lm, np.float64))
                         for p, lm in zip(person, landmarks)])

    def _parse_one(self, person: np.ndarray, lm: np.ndarray) -> np.ndarray:
        import cv2
        h, w = person.shape
        eyes = (lm[36:42].mean(0) + lm[42:48].mean(0)) / 2
        chin = lm[8]
        face_h = max(float(np.linalg.norm(eyes - chin)), 1.0)
        up = (eyes - chin) / face_h
        side = np.array([-up[1], up[0]])
        face_w = float(np.linalg.norm(lm[16] - lm[0]))

        def poly(label_map: np.ndarray, pts: np.ndarray, label: int) -> None:
            cv2.fillPoly(label_map, [np.round(pts).astype(np.int32)], int(label))

        ys, xs = np.mgrid[0:h, 0:w]
        rel = np.stack([xs - chin[0], ys - chin[1]], axis=-1)
        below = -(rel @ up)                      # distance below the chin along the face axis
        lateral = np.abs(rel @ side)
        out = np.zeros((h, w), np.uint8)
        out[person & (below <= 0)] = _HAIR
        out[person & (below > 0)] = _CLOTH
        jaw_half = float(np.linalg.norm(lm[12] - lm[4])) / 2
        neck = person & (below > -0.1 * face_h) & (below < self.neck_length * face_h) \
            & (lateral < 0.85 * jaw_half)
        out[neck] = _NECK

        for label, jaw_idx, sign in ((_L_EAR, 2, -1), (_R_EAR, 14, 1)):
            ear = np.zeros_like(out)
            centre = lm[jaw_idx] + sign * side * 0.06 * face_w + up * 0.25 * face_h
            angle = float(np.degrees(np.arctan2(up[1], up[0])))
            cv2.ellipse(ear, (int(round(centre[0])), int(round(centre[1]))),
                        (max(1, int(0.28 * face_h)), max(1, int(0.07 * face_w))), angle, 0, 360,
                        1, -1)
            out[(ear > 0) & person] = label

        # skin: jaw line, then the jaw mirrored about the eye line (forehead)
        jaw = lm[0:17]
        d = (eyes - jaw) @ up
        forehead = jaw + ((1 + self.forehead_ratio) * d)[:, None] * up
        poly(out, np.concatenate([jaw, forehead[::-1]]), _SKIN)

        thickness = max(1, int(round(0.04 * face_w)))
        for label, idx in ((_L_BROW, slice(17, 22)), (_R_BROW, slice(22, 27))):
            cv2.polylines(out, [np.round(lm[idx]).astype(np.int32)], False, label, thickness)
        poly(out, lm[36:42], _L_EYE)
        poly(out, lm[42:48], _R_EYE)
        half = (lm[35] - lm[31]) * 0.25
        poly(out, np.stack([lm[27], lm[29] - half, lm[31], lm[32], lm[33], lm[34], lm[35],
                            lm[29] + half]), _NOSE)
        poly(out, np.concatenate([lm[48:55], lm[[64, 63, 62, 61, 60]]]), _U_LIP)
        poly(out, np.concatenate([lm[54:60], lm[[48, 60, 67, 66, 65, 64]]]), _L_LIP)
        poly(out, lm[60:68], _MOUTH)
        return out
