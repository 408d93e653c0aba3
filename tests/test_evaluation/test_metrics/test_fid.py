import pytest
import torch

from headswap.evaluation.metrics import FID
from headswap.models.frozen import FIDInceptionV3
from .samples import evaluate, real_frames, sample_dict


@pytest.fixture(scope='module')
def inception():
    return FIDInceptionV3(checkpoint=None, input_size=75)


def test_same_set_zero_disjoint_sets_positive(inception):
    a = real_frames(64, 'pristine', num=8)
    b = real_frames(64, 'distorted', num=8)
    same = [sample_dict(pred_img=x, gt_img=x.clone(), img_path=f'f{i}') for i, x in enumerate(a)]
    fid_same = evaluate(FID(inception=inception, device='cpu'), same)['FID']
    assert fid_same == pytest.approx(0, abs=1e-3)
    disjoint = [sample_dict(pred_img=y, gt_img=x, img_path=f'f{i}')
                for i, (x, y) in enumerate(zip(a, b))]
    assert evaluate(FID(inception=inception, device='cpu'), disjoint)['FID'] > 1e-2


def test_real_frames_count_once(inception):
    a = real_frames(64, num=4)
    fakes = real_frames(64, 'distorted', num=4)
    # every sample has the same real frame -> one real image -> FID is not defined
    samples = [sample_dict(pred_img=f, gt_img=a[0], img_path='same.jpg') for f in fakes]
    assert evaluate(FID(inception=inception, device='cpu'), samples) == {}


def test_inception_layout_and_shapes(inception):
    keys = inception.net.state_dict().keys()
    assert 'Mixed_7c.branch_pool.conv.weight' in keys and 'fc.weight' in keys
    assert not any(k.startswith('AuxLogits') for k in keys)
    assert inception.net.fc.out_features == 1008
    feats = inception(torch.zeros((2, 3, 40, 40), dtype=torch.uint8))
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()
    with pytest.raises(ValueError, match='input_size must be >= 75'):
        FIDInceptionV3(input_size=32)
