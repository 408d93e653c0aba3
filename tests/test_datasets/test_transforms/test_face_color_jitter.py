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


def reference(img, ops):
    """The jitter written plainly in numpy (the definition the OpenCV version follows)."""
    import cv2
    out = img.astype(np.float32)
    for name, factor in ops:
        if name == 'brightness':
            out = out * factor
        elif name in ('contrast', 'saturation'):
            grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
            base = grey.mean() if name == 'contrast' else grey[..., None]
            out = base + factor * (out - base)
        else:
            hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
            hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(round(factor * 180))) % 180
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        out = np.clip(out, 0, 255)
    return out.round().astype(np.uint8)


def test_matches_the_plain_numpy_definition():
    """Within 1 of the plain version (float rounding) without hue; with hue, where an 8-bit
    HSV round trip can amplify that 1, on at most 0.1% of the pixels."""
    import cv2
    img = cv2.imread('data/sample/frames/carphone/pristine/00001/000000.jpg')[..., ::-1].copy()
    rng = np.random.RandomState(0)
    names = ['brightness', 'contrast', 'saturation', 'hue']
    for trial in range(24):
        ops = [(n, rng.uniform(-0.05, 0.05) if n == 'hue' else rng.uniform(0.5, 1.5))
               for n in rng.permutation(names[:3] if trial % 2 else names)]
        diff = np.abs(FaceColorJitter.apply(img, ops).astype(int) - reference(img, ops))
        if trial % 2:
            assert diff.max() <= 1, ops
        else:
            assert (diff > 1).mean() <= 1e-3, ops
        assert diff.mean() < 0.05  # not a different picture
