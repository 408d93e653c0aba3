import numpy as np
import pytest

from headswap.datasets.transforms import ResizeFrames


def test_resizes_images_labels_and_landmarks():
    img = np.zeros((64, 64, 3), np.uint8)
    img[:32] = 200
    labels = np.zeros((64, 64), np.uint8)
    labels[32:, 32:] = 17
    results = dict(gt_img=img, driver_img=img.copy(), source_imgs=[img, img],
                   gt_parsing=labels, gt_landmarks=np.full((68, 2), 40.0, np.float32),
                   source_landmarks=np.full((2, 68, 2), 8.0, np.float32),
                   gt_landmarks_mirrored=np.full((68, 2), 20.0, np.float32), identity='x')
    out = ResizeFrames(16)(results)
    assert out['gt_img'].shape == (16, 16, 3) and len(out['source_imgs']) == 2
    assert out['source_imgs'][1].shape == (16, 16, 3)
    assert (out['gt_img'][:8] == 200).all() and (out['gt_img'][8:] == 0).all()
    assert out['gt_parsing'].shape == (16, 16)
    assert set(np.unique(out['gt_parsing'])) == {0, 17}  # nearest: no new labels
    np.testing.assert_allclose(out['gt_landmarks'], 10.0)
    np.testing.assert_allclose(out['source_landmarks'], 2.0)
    np.testing.assert_allclose(out['gt_landmarks_mirrored'], 5.0)  # FaceFlip's, scaled too
    assert out['img_shape'] == (16, 16) and out['identity'] == 'x'


def test_bad_size():
    with pytest.raises(ValueError, match='size'):
        ResizeFrames(0)
