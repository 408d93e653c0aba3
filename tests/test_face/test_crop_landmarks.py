"""The landmarks of an aligned crop are read on the crop, as data preparation stores them."""
import numpy as np
import pytest

from headswap.face.alignment import face_window
from headswap.face.analysis import FaceAnalysis
from headswap.face.quality import read_crop_landmarks, read_crop_landmarks_and_mirrored
from tests.test_apis.media_fixtures import paste, sample_frame, scene
from tests.test_datasets.test_preparation.offline_media import (OFFLINE_MODELS,
                                                                requires_offline_models)


class _Landmarker:
    """Reads fixed points with the given scores, and records the boxes it was given."""

    def __init__(self, points, scores):
        self.points, self.scores, self.boxes = points, scores, None

    def predict(self, images, boxes, keypoints=None):
        self.boxes = boxes
        return np.repeat(self.points[None], len(images), 0), np.asarray(self.scores)


def test_usable_readings_replace_the_moved_points_and_the_others_stay():
    read = np.random.default_rng(0).uniform(100, 400, (68, 2))
    moved = read + 7.0
    landmarker = _Landmarker(read, [0.9, 0.1])
    crops = [np.zeros((512, 512, 3), np.uint8)] * 2
    out, scores = read_crop_landmarks(landmarker, crops, np.stack([moved, moved]),
                                      face_window(512, 2.0), 0.5)
    np.testing.assert_allclose(out[0], read)
    np.testing.assert_allclose(out[1], moved)  # score 0.1 < 0.5: the frame's points stay
    np.testing.assert_allclose(scores, [0.9, 0.1])
    # the face window of a crop_scale-2 crop: the centred half
    np.testing.assert_allclose(landmarker.boxes[0], [128, 128, 384, 384])
    np.testing.assert_allclose(face_window(512, 2.0, 0.1), [128, 179.2, 384, 435.2])


def test_a_mirrored_reading_is_kept_only_beside_a_usable_crop_reading():
    """One landmarker call reads the crops (in the window) and their mirrors (in the mirrored
    window); a mirrored reading is kept only where both are usable."""
    read = np.random.default_rng(0).uniform(100, 400, (68, 2))
    moved = read + 7.0
    # crops 0, 1, 2 then their mirrors: crop 1's reading and crop 2's mirror are unusable
    landmarker = _Landmarker(read, [0.9, 0.1, 0.9, 0.9, 0.9, 0.1])
    crops = [np.zeros((512, 400, 3), np.uint8)] * 3
    window = np.array([100, 128, 260, 384], np.float32)
    out, scores, mirrored = read_crop_landmarks_and_mirrored(
        landmarker, crops, np.stack([moved] * 3), window, 0.5)
    np.testing.assert_allclose(out, np.stack([read, moved, read]))
    np.testing.assert_allclose(scores, [0.9, 0.1, 0.9])
    np.testing.assert_allclose(mirrored[0], read)
    assert mirrored[1] is None and mirrored[2] is None
    np.testing.assert_allclose(landmarker.boxes[:3], np.repeat(window[None], 3, 0))
    np.testing.assert_allclose(landmarker.boxes[3:], [[140, 128, 300, 384]] * 3)


@requires_offline_models
@pytest.mark.parametrize('on', [True, False])
def test_inference_reads_the_crop_as_preparation_did(on):
    frame = paste(scene(320, 240), sample_frame(30)[96:416, 96:416], 80, 40, 160)
    a = FaceAnalysis(OFFLINE_MODELS['detector'], OFFLINE_MODELS['landmarker'],
                     OFFLINE_MODELS['parser'], dict(landmarks_on_crop=on), size=512)
    det = a.detect([frame])[0]
    lms, ok = a.landmarks([frame], det.boxes[:1], det.keypoints[:1])
    assert ok[0]
    m = a.transform(lms[0])
    crop = a.align(frame, m)
    moved = a.crop_landmarks(lms[0], m)
    out = a.read_crop_landmarks([crop], moved[None])[0]
    direct, _ = a._component('landmarker').predict([crop], face_window(512, 2.0)[None])
    if on:
        np.testing.assert_allclose(out, direct[0], atol=1e-4)
        assert np.abs(out - moved).mean() > 0.5  # the frame's reading says otherwise
    else:
        np.testing.assert_allclose(out, moved)
