"""Which target face is swapped: largest (default), by index, tracked, or like a reference."""
import numpy as np
import pytest

from headswap.apis.face_selection import FaceSelector, SFaceEmbedder
from headswap.models.frozen import FaceDetections, YuNetFaceDetector
from tests.test_apis.media_fixtures import astronaut, paste, sample_frame, scene


def dets(*boxes):
    b = np.array(boxes, np.float32)
    return FaceDetections(b, np.ones(len(b), np.float32), None)


def test_largest_index_and_tracking():
    img = np.zeros((10, 10, 3), np.uint8)
    big, small = [60, 10, 160, 110], [0, 0, 40, 40]
    assert FaceSelector('largest').select(img, dets(small, big))[0] == 1
    assert FaceSelector(0).select(img, dets(big, small))[0] == 1     # left to right
    assert FaceSelector(1).select(img, dets(big, small))[0] == 0
    assert FaceSelector(2).select(img, dets(big, small)) == (None, 'face_index_out_of_range')
    assert FaceSelector('largest').select(img, FaceDetections.empty()) == (None, 'no_face')
    sel = FaceSelector('largest')
    assert sel.select(img, dets(small, [100, 100, 150, 150]), 0)[0] == 1
    # the other face grows larger, the tracked one stays chosen
    assert sel.select(img, dets([0, 0, 90, 90], [102, 101, 152, 151]), 1)[0] == 1
    # lost for longer than max_gap: the rule applies again
    assert sel.select(img, dets([0, 0, 90, 90], [300, 300, 310, 310]), 20)[0] == 0


def test_reference_photo_picks_the_same_person():
    frame = paste(paste(scene(320, 160), astronaut(), 10, 10, 140), sample_frame(0), 170, 10, 140)
    det = YuNetFaceDetector().detect([frame])[0]
    assert len(det) == 2
    sface = SFaceEmbedder()

    def reference_of(img):
        d = YuNetFaceDetector().detect([img])[0]
        return sface.embed(img, FaceDetections(d.boxes[:1], d.scores[:1], d.keypoints[:1]))[0]
    for photo, side in ((sample_frame(60), 'right'), (astronaut(), 'left')):
        sel = FaceSelector('reference', reference_of(photo), sface.embed, sface.threshold)
        choice, reason = sel.select(frame, det)
        centre = (det.boxes[choice, 0] + det.boxes[choice, 2]) / 2
        assert reason == 'ok' and (centre > 160) == (side == 'right')
    sel = FaceSelector('reference', -reference_of(astronaut()), sface.embed, sface.threshold)
    assert sel.select(frame, det) == (None, 'reference_not_found')
    with pytest.raises(ValueError):
        FaceSelector('reference')
