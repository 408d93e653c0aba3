"""Which target face is swapped: largest (default), by index, tracked, or like a reference."""
import numpy as np
import pytest

from headswap.apis import face_selection
from headswap.apis.face_selection import (FaceSelector, SFaceEmbedder, check_face_choice,
                                          choose_face, confident_faces, target_face_choice,
                                          warn_several_faces)
from headswap.apis.source_bank import SourceBank
from headswap.errors import UserError
from headswap.models.frozen import FaceDetections, YuNetFaceDetector
from tests.test_apis.media_fixtures import astronaut, paste, sample_frame, scene
from tests.test_tools.tool_loader import load_tool


def dets(*boxes, scores=None):
    b = np.array(boxes, np.float32)
    return FaceDetections(b, np.ones(len(b), np.float32) if scores is None
                          else np.array(scores, np.float32), None)


def test_largest_index_and_tracking():
    img = np.zeros((10, 10, 3), np.uint8)
    big, small = [60, 10, 160, 110], [0, 0, 40, 40]
    assert FaceSelector('largest').select(img, dets(small, big))[0] == 1
    assert FaceSelector(1).select(img, dets(big, small))[0] == 1     # 1 = leftmost
    assert FaceSelector(2).select(img, dets(big, small))[0] == 0
    assert FaceSelector(-1).select(img, dets(big, small))[0] == 0    # the rightmost
    assert FaceSelector(3).select(img, dets(big, small)) == (None, 'face_index_out_of_range')
    assert FaceSelector('largest').select(img, FaceDetections.empty()) == (None, 'no_face')
    sel = FaceSelector('largest')
    assert sel.select(img, dets(small, [100, 100, 150, 150]), 0)[0] == 1
    # the other face grows larger, the tracked one stays chosen
    assert sel.select(img, dets([0, 0, 90, 90], [102, 101, 152, 151]), 1)[0] == 1
    # lost for longer than max_gap: the rule applies again
    assert sel.select(img, dets([0, 0, 90, 90], [300, 300, 310, 310]), 20)[0] == 0


def test_faces_are_numbered_from_1_among_confident_detections_only():
    img = np.zeros((10, 10, 3), np.uint8)
    # faces at x 0-40 and 100-150, a false positive (score 0.65) right of them, larger
    frame = dets([0, 0, 40, 40], [100, 0, 150, 50], [200, 0, 300, 100],
                 scores=[0.9, 0.92, 0.65])
    assert [FaceSelector(n).select(img, frame)[0] for n in (1, 2, -1)] == [0, 1, 1]
    assert FaceSelector(3).select(img, frame) == (None, 'face_index_out_of_range')
    assert FaceSelector('largest').select(img, frame)[0] == 1  # not the false positive
    # a frame where no detection is confident (a degraded face): the largest of all
    assert choose_face(dets([0, 0, 10, 10], [20, 0, 60, 40], scores=[0.6, 0.7]),
                       'largest') == (1, 'ok')
    # ... and numbers count every detection there (the web demo's thumbnails use them)
    degraded = dets([20, 0, 60, 40], [0, 0, 10, 10], scores=[0.7, 0.6])
    assert [choose_face(degraded, n)[0] for n in (1, 2)] == [1, 0]
    assert confident_faces(frame, 0.6).tolist() == [0, 1, 2]  # confident_face_score setting
    for bad in (0, '0', 'second', 1.5):
        with pytest.raises(UserError, match="'largest' or a face number"):
            FaceSelector(bad)
    assert check_face_choice('-2') == -2 and check_face_choice('largest') == 'largest'


def test_a_warning_names_how_many_faces_were_found(monkeypatch):
    logged = []
    monkeypatch.setattr(face_selection, 'print_log', lambda msg, **kw: logged.append(msg))
    img = np.zeros((10, 10, 3), np.uint8)
    sel = FaceSelector('largest')
    for t, frame in enumerate([dets([0, 0, 40, 40]),
                               dets([0, 0, 40, 40], [50, 0, 90, 40], [100, 0, 140, 40]),
                               dets([0, 0, 40, 40], [50, 0, 90, 40], scores=[0.9, 0.5])]):
        sel.select(img, frame, t)
    assert sel.counts == dict(frames=3, several_faces=1, most_faces=3)
    warn_several_faces('T.mp4', sel.counts, sel.mode, 'target_face')
    assert logged == ['T.mp4: 3 faces found (several in 1 frames); used the largest. Faces are '
                      'numbered 1 to 3 from left to right: choose one with --target-face N '
                      '(target_face=N)']
    one = FaceSelector(2)
    one.select(img, dets([0, 0, 40, 40], [50, 0, 90, 40], scores=[0.9, 0.3]))
    warn_several_faces('T.jpg', one.counts, one.mode, 'target_face')
    assert len(logged) == 1  # one confident face: no warning
    warn_several_faces('T.jpg', dict(frames=1, several_faces=1, most_faces=2), 3, 'target_face')
    assert logged[-1].startswith('T.jpg: 2 faces found; there is no face 3. Faces are numbered')
    # the deprecated face= / --face: 0-based, with a warning
    assert target_face_choice(None) == 'largest' and target_face_choice(2) == 2
    assert target_face_choice(None, 0) == 1 and target_face_choice(None, '-1') == -1
    assert 'deprecated' in logged[-1]
    with pytest.raises(UserError, match='not both'):
        target_face_choice(2, 1)


class FakeAnalysis:
    """Face analysis over given detections: landmarks are the box corners, crops the box."""
    min_face_size = 24

    def __init__(self, frames):
        self.frames = frames  # detections of each call's images, in order

    def detect(self, images):
        return [self.frames.pop(0) for _ in images]

    def landmarks(self, images, boxes, keypoints):
        lms = np.stack([np.tile(b.reshape(2, 2), (34, 1)) for b in boxes])
        return lms, np.ones(len(boxes), bool)

    def transform(self, lm):
        return np.array([[1.0, 0, 0], [0, 1.0, 0]])

    def align(self, image, m):
        return image

    def crop_landmarks(self, lm, m):
        return lm

    def read_crop_landmarks(self, crops, landmarks):
        return landmarks


def test_source_face_picks_the_face_of_a_group_photo(monkeypatch):
    logged = []
    monkeypatch.setattr(face_selection, 'print_log', lambda msg, **kw: logged.append(msg))
    group = dets([300, 0, 400, 100], [0, 0, 60, 60], [150, 0, 210, 60])
    photo = np.zeros((100, 400, 3), np.uint8)
    settings = dict(batch_size=4, max_source_frames=8, confident_face_score=0.75)
    for face, x1 in (('largest', 300), (1, 0), (2, 150), ('3', 300), (-1, 300)):
        bank = SourceBank(FakeAnalysis([group]), None, settings, 'cpu')
        (name, crop, lm), = bank.analyse(photo, face)
        assert lm[0, 0] == x1, face
    assert logged[0] == ('array: 3 faces found; used the largest. Faces are numbered 1 to 3 '
                         'from left to right: choose one with --source-face N (source_face=N)')
    with pytest.raises(UserError, match='array: no face 4 \\(source_face\\): at most 3'):
        SourceBank(FakeAnalysis([group]), None, settings, 'cpu').analyse(photo, 4)


def test_demo_checks_the_face_options_before_loading_models(capsys):
    demo = load_tool('demo/headswap_demo.py')
    args = ['--sources', 'S.jpg', '--target', 'T.jpg', '--out', 'o.png']
    for option in ('--target-face', '--source-face'):
        with pytest.raises(SystemExit) as e:
            demo.main(args + [option, '0'])
        assert e.value.code == 2
        assert f"{option} must be 'largest' or a face number (1 = the leftmost" in \
            capsys.readouterr().err
    assert demo.parse_args(args).source_face == 'largest'
    assert demo.parse_args(args + ['--face', '1']).face == '1'  # deprecated, still parsed


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
