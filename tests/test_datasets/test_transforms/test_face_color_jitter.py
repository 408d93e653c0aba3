import numpy as np

from headswap.datasets.transforms import FaceColorJitter


def test_same_jitter_for_every_image_of_a_sample():
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)
    s = dict(gt_img=img, driver_img=img.copy(), source_imgs=[img.copy()], gt_parsing=img[..., 0])
    np.random.seed(3)
    out = FaceColorJitter(0.3, 0.3, 0.3, 0.05)(s)
    assert not np.array_equal(out['gt_img'], img)
    assert np.array_equal(out['gt_img'], out['driver_img'])
    assert np.array_equal(out['gt_img'], out['source_imgs'][0])
    assert out['gt_parsing'] is s['gt_parsing']  # labels untouched


def test_zero_strength_is_identity_and_brightness_scales():
    img = np.full((4, 4, 3), 100, np.uint8)
    s = FaceColorJitter(0, 0, 0, 0)(dict(gt_img=img))
    assert np.array_equal(s['gt_img'], img)
    out = FaceColorJitter.apply(img, [('brightness', 1.5)])
    assert (out == 150).all()
    grey = FaceColorJitter.apply(np.array([[[200, 100, 0]]], np.uint8), [('saturation', 0.0)])
    assert len(set(grey.ravel().tolist())) == 1
