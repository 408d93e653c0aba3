import pytest
import torch

from headswap.models.warping import SemanticExemplarWarping, downsample_labels


def face_labels(b: int, size: int) -> torch.Tensor:
    """``(B, 1, size, size)``: background, a skin square, hair on top, two ears, neck."""
    lab = torch.zeros(b, 1, size, size, dtype=torch.long)
    s = size // 8
    lab[:, :, 2 * s:6 * s, 2 * s:6 * s] = 1
    lab[:, :, s:2 * s, 2 * s:6 * s] = 17
    lab[:, :, 3 * s:4 * s, s:2 * s] = 7
    lab[:, :, 3 * s:4 * s, 6 * s:7 * s] = 8
    lab[:, :, 6 * s:, 3 * s:5 * s] = 14
    return lab


def warping(backend='blocked', downsample=1, temperature=1e-3, proj=None, **kw):
    return SemanticExemplarWarping(in_channels=[8], feature_layers=['relu3_1'],
                                   proj_channels=proj, downsample=downsample,
                                   temperature=temperature, backend=backend, **kw)


@pytest.mark.parametrize('backend', ['dense', 'perlabel', 'blocked'])
def test_self_warp_with_sharp_temperature_reproduces_the_image(backend):
    torch.manual_seed(0)
    feats = [torch.randn(2, 8, 16, 16)]
    labels = face_labels(2, 16)
    img = torch.rand(2, 3, 16, 16) * 2 - 1
    res = warping(backend)(feats, feats, labels, labels, img, img)
    assert res.image.shape == img.shape
    assert torch.allclose(res.image, img, atol=1e-4)
    assert res.valid.min() == 1


def test_cycle_is_identity_when_a_equals_t():
    torch.manual_seed(1)
    module = warping(downsample=2, proj=8)
    feats = [torch.randn(2, 8, 8, 8)]  # features at half the image resolution
    labels = face_labels(2, 16)
    img = torch.rand(2, 3, 16, 16)
    res = module(feats, feats, labels, labels, img, img)
    back, valid = module.warp_back(res, res.grid)
    target = torch.nn.functional.avg_pool2d(img, 2)
    assert back.shape == target.shape and valid.min() == 1
    assert (back - target).abs().max() < 1e-3


def test_backends_agree_through_the_module_with_projection_gradients():
    torch.manual_seed(2)
    feats_a, feats_t = [torch.randn(2, 8, 8, 8)], [torch.randn(2, 8, 8, 8)]
    lab_a, lab_t = face_labels(2, 32), face_labels(2, 32).roll(3, -1)
    img_a, img_t = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    results = {}
    for backend in ('dense', 'perlabel', 'blocked'):
        torch.manual_seed(3)
        module = warping(backend, downsample=4, temperature=0.05, proj=6)
        res = module(feats_a, feats_t, lab_a, lab_t, img_t, img_a)
        back, _ = module.warp_back(res, res.grid)
        (res.image.sum() + back.square().sum()).backward()
        results[backend] = (res.image.detach(), back.detach(), module.proj.weight.grad.clone())
    for backend in ('perlabel', 'blocked'):
        for a, b in zip(results[backend], results['dense']):
            assert (a - b).norm() / b.norm() < 1e-4


def test_missing_labels_fall_back_to_table_then_own_colours():
    """A has ears (7, 8), hair (17) and a hat (18); T has skin, hair and neck only.
    Ears fall back to T's skin; the hat has no fallback: A's own colour, valid 0."""
    torch.manual_seed(4)
    size = 16
    lab_a = face_labels(1, size)
    lab_a[:, :, :2, :2] = 18
    lab_t = face_labels(1, size)
    lab_t[lab_t == 7] = 0
    lab_t[lab_t == 8] = 0
    img_t = torch.zeros(1, 3, size, size)
    img_t[:, 0][lab_t[:, 0] == 1] = 0.5  # skin is (0.5, 0, 0) in T
    img_a = torch.full((1, 3, size, size), -0.7)
    feats = [torch.randn(1, 8, size, size)]
    res = warping(temperature=1.0)(feats, feats, lab_a, lab_t, img_t, img_a)
    ears = (lab_a == 7) | (lab_a == 8)
    assert torch.allclose(res.image[:, 0:1][ears], torch.tensor(0.5))
    hat = (lab_a == 18)[0, 0]
    assert torch.allclose(res.image[0, :, hat], torch.tensor(-0.7))
    assert res.valid[0, 0][hat].max() == 0 and res.valid[0, 0][~hat].min() == 1
    assert torch.isfinite(res.image).all()


def test_fallback_can_be_disabled():
    lab_a, lab_t = face_labels(1, 16), face_labels(1, 16)
    lab_t[lab_t == 7] = 0
    feats = [torch.randn(1, 8, 16, 16)]
    img_a = torch.full((1, 3, 16, 16), 0.3)
    res = warping(label_fallback={})(feats, feats, lab_a, lab_t, torch.zeros_like(img_a), img_a)
    assert torch.allclose(res.image[:, :, (lab_a == 7)[0, 0]], torch.tensor(0.3))


def test_downsample_labels_takes_the_majority():
    lab = torch.zeros(1, 1, 4, 4, dtype=torch.long)
    lab[0, 0, :2, :2] = torch.tensor([[3, 3], [3, 5]])
    lab[0, 0, 2:, 2:] = torch.tensor([[5, 5], [2, 2]])  # tie between 2 and 5: smaller id
    assert downsample_labels(lab, 2, 6)[0, 0].tolist() == [[3, 0], [0, 2]]


def test_configuration_errors():
    with pytest.raises(ValueError, match='unknown warping backend'):
        warping('fancy')
    with pytest.raises(ValueError, match='in_channels'):
        SemanticExemplarWarping(in_channels=[8, 8], feature_layers=['relu3_1'])
    module = warping(downsample=4)
    feats = [torch.randn(1, 8, 4, 4)]
    with pytest.raises(ValueError, match='not divisible'):
        module(feats, feats, face_labels(1, 18), face_labels(1, 18), torch.rand(1, 3, 18, 18))
    with pytest.raises(ValueError, match='do not match the image size'):
        module(feats, feats, face_labels(1, 32), face_labels(1, 16), torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match='channels'):
        module([torch.randn(1, 4, 4, 4)], feats, face_labels(1, 16), face_labels(1, 16),
               torch.rand(1, 3, 16, 16))
