"""Low-resolution clips (a 176x144 phone camera) keep their usable frames with the default
settings, and a run whose filters drop most frames says which filter and which option."""
import os
import os.path as osp

import cv2
import numpy as np

from headswap.datasets.preparation import format_summary, prepare_dataset, template_points
from headswap.face import BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser, FaceDetections
from headswap.registry import MODELS


@MODELS.register_module(force=True)
class NonBlackBoxDetector(BaseFaceDetector):
    """The face is the box of the image's non-black pixels (none if all black)."""

    def detect(self, images):
        out = []
        for img in images:
            ys, xs = np.nonzero(img.max(-1))
            if not len(xs):
                out.append(FaceDetections.empty())
                continue
            box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
            out.append(FaceDetections(box, np.ones(1, np.float32)))
        return out


@MODELS.register_module(force=True)
class BoxTemplateLandmarker(BaseFaceLandmarker):
    """The 5 alignment points of the tight template in the box, the other 63 at its centre."""

    def predict(self, images, boxes, keypoints=None):
        pts = []
        for x1, y1, x2, y2 in boxes:
            t = template_points(1.0, x2 - x1) + [x1, y1]
            lm = np.tile([(x1 + x2) / 2, (y1 + y2) / 2], (68, 1))
            lm[36:42], lm[42:48], lm[30], lm[48], lm[54] = t[0], t[1], t[2], t[3], t[4]
            pts.append(lm)
        return np.stack(pts).astype(np.float32), np.ones(len(boxes), np.float32)


@MODELS.register_module(force=True)
class EmptyParser(BaseFaceParser):
    name = 'EmptyParser (test)'

    def parse(self, images, landmarks=None):
        return np.zeros((len(images),) + images[0].shape[:2], np.uint8)


MODELS_CFG = dict(detector=dict(type='NonBlackBoxDetector'),
                  landmarker=dict(type='BoxTemplateLandmarker'), parser=dict(type='EmptyParser'))


def _phone_clip(folder, n=4, side=60, textured=True):
    """``n`` 176x144 frames, black but for a ``side``-px face: fine texture (a sharp face at
    the camera's own resolution) or flat (no detail at all)."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.zeros((144, 176, 3), np.uint8)
        face = rng.integers(60, 230, (side, side, 3)) if textured else \
            np.full((side, side, 3), 140)
        img[40:40 + side, 50 + i:50 + i + side] = face.astype(np.uint8)
        cv2.imwrite(osp.join(folder, f'{i:03d}.png'), img)


def test_a_phone_clip_keeps_its_frames_with_the_defaults(tmp_path):
    _phone_clip(str(tmp_path / 'in' / 'alice' / 'phone'))
    summary = prepare_dataset(str(tmp_path / 'in'), str(tmp_path / 'out'), progress=False,
                              **MODELS_CFG)
    # before: 60 px < min_face_size 96 (small_face), and the 512 crop upscaled ~4x measured
    # far under min_blur (blurry)
    assert summary['frames_kept'] == 4, summary['frames_dropped']
    assert 'warning' not in format_summary(summary)


def test_filters_that_drop_most_frames_are_named_with_their_option(tmp_path):
    _phone_clip(str(tmp_path / 'in' / 'bob' / 'tiny'), side=20)            # 20 px < 36 px
    _phone_clip(str(tmp_path / 'in' / 'carol' / 'flat'), textured=False)   # no detail
    _phone_clip(str(tmp_path / 'in' / 'dave' / 'ok'), n=1)
    summary = prepare_dataset(str(tmp_path / 'in'), str(tmp_path / 'out'), progress=False,
                              **MODELS_CFG)
    assert summary['frames_kept'] == 1
    assert summary['frames_dropped'] == dict(no_face=0, small_face=4, several_faces=0,
                                             low_landmark_score=0, blurry=4)
    text = format_summary(summary)
    assert 'the filters dropped 8 of 9 decoded frames (1 kept)' in text
    assert 'small_face: 4 frames' in text and 'preparation.min_face_size=48 (now 96)' in text
    assert 'blurry: 4 frames' in text and 'preparation.min_blur=7.5 (now 15)' in text
    assert 'several_faces:' not in text  # filters that dropped nothing are not listed


def test_no_face_advice_halves_the_detectors_own_threshold():
    from headswap.datasets.preparation.clip_processor import relax_option
    settings = {}
    # YuNetFaceDetector(score_threshold=0.6) by default; a config's own value wins
    assert relax_option('no_face', settings, dict(type='YuNetFaceDetector')) == \
        'detector.score_threshold=0.3 (now 0.6)'
    assert relax_option('no_face', settings, None) == 'detector.score_threshold=0.3 (now 0.6)'
    assert relax_option('no_face', settings, dict(type='YuNetFaceDetector',
                                                  score_threshold=0.8)) == \
        'detector.score_threshold=0.4 (now 0.8)'
    # a detector without that argument gets no made-up number
    advice = relax_option('no_face', settings, dict(type='WholeImageFaceDetector'))
    assert advice.startswith('detector.score_threshold (lower it') and 'now' not in advice
