"""Faces of 64 px in photos of any size: detection on a pyramid of overlapping tiles, with a
stub network that, like a real one, only finds faces of 20 px or more in its 640-px input."""
import cv2
import numpy as np
import pytest

from headswap.face import FaceDetections
from headswap.face.providers.multiscale import detect_multiscale, pyramid_levels, tile_starts
from ..test_datasets.test_preparation.offline_media import requires_offline_models


def bright_squares(img: np.ndarray, net_min_face: int = 20) -> FaceDetections:
    """The stub network: white squares of at least ``net_min_face`` px are faces."""
    assert max(img.shape[:2]) <= 640, 'the network takes at most 640 px'
    n, _, stats, _ = cv2.connectedComponentsWithStats((img[..., 0] > 127).astype(np.uint8))
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:]
                      if min(w, h) >= net_min_face], np.float32).reshape(-1, 4)
    return FaceDetections(boxes, np.full(len(boxes), 0.9, np.float32))


@pytest.fixture(scope='module')
def photo():
    """A 9000x6000 photo: a 130-px face, a 64-px face and a 2000-px face."""
    img = np.zeros((6000, 9000, 3), np.uint8)
    img[3000:3130, 5000:5130] = 255
    img[700:764, 1200:1264] = 255
    img[2000:4000, 6500:8500] = 255
    return img


EXPECTED = [[5000, 3000, 5130, 3130], [1200, 700, 1264, 764], [6500, 2000, 8500, 4000]]


def _matched(boxes):
    return sorted(int(np.argmin([np.abs(b - e).max() for e in EXPECTED])) for b in boxes)


def test_tiles_find_the_small_faces_the_single_640_px_pass_misses(photo):
    single = cv2.resize(photo, (640, 427), interpolation=cv2.INTER_AREA)
    assert _matched(bright_squares(single).boxes * 9000 / 640) == [2]  # 130 px -> 9 px: missed
    det = detect_multiscale(photo, bright_squares)
    assert len(det) == 3 and _matched(det.boxes) == [0, 1, 2]  # each face once
    for b in det.boxes:  # boxes in the photo's pixels, to a level's pixel or so
        assert min(np.abs(b - e).max() for e in EXPECTED) <= 16
    # a small image is one pass, as before
    assert pyramid_levels(480, 640, 640, 64, 20) == [1.0]
    assert pyramid_levels(1080, 1920, 640, 64, 20) == [3.0]  # 64 px -> 21 px: enough
    assert len(pyramid_levels(6000, 9000, 640, 64, 20)) == 4
    starts = tile_starts(2813, 640, 80)
    assert starts[0] == 0 and starts[-1] == 2813 - 640 and max(np.diff(starts)) <= 560


class FakeYuNet:
    """``cv2.FaceDetectorYN``'s interface over :func:`bright_squares` (BGR in, rows of x, y,
    w, h, 5 keypoints, score out)."""

    def setInputSize(self, size):
        self.size = size

    def detect(self, bgr):
        assert (bgr.shape[1], bgr.shape[0]) == self.size
        det = bright_squares(bgr)
        if not len(det):
            return 0, None
        rows = [[x1, y1, x2 - x1, y2 - y1] + [(x1 + x2) / 2, (y1 + y2) / 2] * 5 + [0.9]
                for x1, y1, x2, y2 in det.boxes]
        return 1, np.array(rows, np.float32)


@requires_offline_models
def test_yunet_finds_a_130_px_face_in_a_9000x6000_photo(photo):
    from headswap.face.providers import YuNetFaceDetector
    det = YuNetFaceDetector()
    det._net = FakeYuNet()
    found = det.detect([photo])[0]
    assert _matched(found.boxes) == [0, 1, 2]
    assert found.keypoints.shape == (3, 5, 2)
    np.testing.assert_allclose(found.keypoints[:, 0], (found.boxes[:, :2] + found.boxes[:, 2:])
                               / 2, atol=8)
    single = YuNetFaceDetector(min_face=0)  # the single 640-px pass: the large face only
    single._net = FakeYuNet()
    assert _matched(single.detect([photo])[0].boxes) == [2]
