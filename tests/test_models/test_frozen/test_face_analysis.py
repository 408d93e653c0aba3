"""The swappable face-analysis components: offline ones on a real photo, OpenMMLab ones
with random weights (their checkpoints are not installable here)."""
import numpy as np
import pytest

from headswap.models.frozen import (BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser,
                                    WholeImageFaceDetector)
from headswap.registry import MODELS
from ...test_datasets.test_preparation.offline_media import requires_offline_models


@pytest.fixture(scope='module')
def astronaut():
    from skimage import data
    return data.astronaut()


@requires_offline_models
def test_yunet_and_face_mesh_find_the_astronauts_face(astronaut):
    det = MODELS.build(dict(type='YuNetFaceDetector'))
    assert isinstance(det, BaseFaceDetector)
    faces = det.detect([astronaut, np.zeros((64, 64, 3), np.uint8)])
    assert len(faces[0]) == 1 and len(faces[1]) == 0
    x1, y1, x2, y2 = faces[0].boxes[0]
    assert 150 < x1 < x2 < 300 and 40 < y1 < y2 < 200  # her face, not the suit
    lmk = MODELS.build(dict(type='MediaPipeFaceMeshLandmarker'))
    assert isinstance(lmk, BaseFaceLandmarker)
    pts, scores = lmk.predict([astronaut], faces[0].boxes[:1], faces[0].keypoints[:1])
    assert pts.shape == (1, 68, 2) and scores[0] > 0.9
    # the two models agree on where the eyes are (YuNet keypoints 0, 1 = image-left, -right)
    eyes = np.stack([pts[0, 36:42].mean(0), pts[0, 42:48].mean(0)])
    assert np.abs(eyes - faces[0].keypoints[0, :2]).max() < 6
    assert pts[0, 8, 1] > pts[0, 30, 1] > eyes[:, 1].mean()  # chin below nose below eyes


@requires_offline_models
def test_landmark_parser_labels_parts_where_the_landmarks_are(astronaut):
    lmk = MODELS.build(dict(type='MediaPipeFaceMeshLandmarker'))
    parser = MODELS.build(dict(type='LandmarkFaceParser'))
    assert isinstance(parser, BaseFaceParser) and 'approximate' in parser.name
    pts, _ = lmk.predict([astronaut], np.array([[178, 62, 268, 176]], np.float32))
    labels = parser.parse([astronaut], pts)[0]
    assert labels.shape == astronaut.shape[:2] and labels.dtype == np.uint8
    at = lambda p: labels[int(round(p[1])), int(round(p[0]))]  # noqa: E731
    assert at(pts[0, 36:42].mean(0)) == 4 and at(pts[0, 42:48].mean(0)) == 5  # eyes
    assert at(pts[0, 30]) == 10                                               # nose tip
    assert at((pts[0, 2] + pts[0, 30]) / 2) == 1                              # cheek: skin
    assert labels[5, 5] == 0                                                  # background
    assert at(pts[0, 8] + [0, 40]) in (14, 16)                                # below chin
    assert (labels == 17).sum() > 1000                                        # hair
    with pytest.raises(ValueError, match='landmarks'):
        parser.parse([astronaut])


def test_whole_image_detector_boxes_the_middle():
    det = WholeImageFaceDetector(margin=0.25)
    faces = det.detect([np.zeros((40, 80, 3), np.uint8)])
    np.testing.assert_allclose(faces[0].boxes[0], [20, 10, 60, 30])
    with pytest.raises(ValueError):
        WholeImageFaceDetector(margin=0.6)


def test_mmpose_landmarker_runs_batched_with_random_weights():
    from mmengine.registry import DefaultScope
    scope = lambda: getattr(DefaultScope.get_current_instance(), 'scope_name', None)  # noqa
    before = scope()
    lmk = MODELS.build(dict(type='MMPoseFaceLandmarker', checkpoint=None, device='cpu'))
    imgs = [np.random.RandomState(i).randint(0, 255, (120, 100, 3)).astype(np.uint8)
            for i in range(3)]
    pts, scores = lmk.predict(imgs, np.array([[10, 10, 90, 110]] * 3, np.float32))
    assert pts.shape == (3, 68, 2) and scores.shape == (3,)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scope() == before  # the global default scope is untouched


def test_mmseg_parser_runs_batched_with_random_weights():
    parser = MODELS.build(dict(type='MMSegFaceParser', checkpoint=None, device='cpu',
                               input_size=64))
    out = parser.parse([np.zeros((96, 96, 3), np.uint8)] * 2)
    assert out.shape == (2, 96, 96) and out.dtype == np.uint8 and out.max() <= 18
    assert 'RANDOM' in parser.name
