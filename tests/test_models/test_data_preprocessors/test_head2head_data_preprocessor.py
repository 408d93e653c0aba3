import pytest
import torch

from headswap.models.data_preprocessors import Head2HeadDataPreprocessor
from headswap.structures import HeadSwapDataSample
from headswap.utils.cli import UserError


def packed(k=2, size=16, mask=True, frame=0):
    s = HeadSwapDataSample(metainfo=dict(identity='id00001', video='v', clip='00001',
                                         frame=frame))
    s.gt_img = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    if mask:
        s.gt_mask = torch.ones(1, size, size)
    return dict(source_imgs=torch.randint(0, 256, (k, 3, size, size), dtype=torch.uint8),
                driver_img=s.gt_img.clone()), s


def collate(items):
    inputs = dict(source_imgs=[i[0]['source_imgs'] for i in items],
                  driver_img=[i[0]['driver_img'] for i in items])
    return dict(inputs=inputs, data_samples=[i[1] for i in items])


@pytest.mark.parametrize('k', [1, 4])
def test_stacks_and_normalises(k):
    pre = Head2HeadDataPreprocessor(resolution=16)
    items = [packed(k), packed(k, mask=False)]
    out = pre(collate(items), training=True)
    src = out['inputs']['source_imgs']
    assert src.shape == (2, k, 3, 16, 16) and src.dtype == torch.float32
    torch.testing.assert_close(src[1], items[1][0]['source_imgs'].float() / 127.5 - 1)
    assert src.min() >= -1 and src.max() <= 1
    assert out['inputs']['driver_img'].shape == (2, 3, 16, 16)
    torch.testing.assert_close(out['targets']['gt_img'], out['inputs']['driver_img'])
    assert 'gt_mask' not in out['targets']  # not every sample has one
    assert out['data_samples'][0].gt_img.dtype == torch.uint8  # kept for hooks and metrics


def test_mask_target():
    out = Head2HeadDataPreprocessor()(collate([packed(), packed()]))
    assert out['targets']['gt_mask'].shape == (2, 1, 16, 16)


def test_batched_tensors_accepted():
    pre = Head2HeadDataPreprocessor(resolution=16)
    data = dict(inputs=dict(source_imgs=torch.zeros(2, 3, 3, 16, 16, dtype=torch.uint8),
                            driver_img=torch.zeros(2, 3, 16, 16, dtype=torch.uint8)))
    out = pre(data)
    assert out['inputs']['source_imgs'].shape == (2, 3, 3, 16, 16)
    assert (out['inputs']['source_imgs'] == -1).all()
    assert out['targets'] == {}


def test_zero_shots():
    with pytest.raises(UserError, match=r'sample 0 \(id00001/v/00001 frame 0\): K = 0'):
        Head2HeadDataPreprocessor()(collate([packed(k=0)]))
    with pytest.raises(UserError, match='K = 0'):
        Head2HeadDataPreprocessor()(dict(inputs=dict(
            source_imgs=torch.zeros(1, 0, 3, 8, 8, dtype=torch.uint8),
            driver_img=torch.zeros(1, 3, 8, 8, dtype=torch.uint8))))


def test_mixed_k():
    with pytest.raises(UserError, match=r'K differs within the batch \(\[2, 3\]\)'):
        Head2HeadDataPreprocessor()(collate([packed(k=2), packed(k=3)]))


def test_resolution_mismatch():
    pre = Head2HeadDataPreprocessor(resolution=32)
    with pytest.raises(UserError, match='frame 5.*16x16 but the model is configured for 32x32'):
        pre(collate([packed(size=16, frame=5)]))


def test_wrong_dtype_and_channels():
    inputs, sample = packed()
    inputs['source_imgs'] = inputs['source_imgs'].float()
    with pytest.raises(UserError, match='dtype torch.float32'):
        Head2HeadDataPreprocessor()(collate([(inputs, sample)]))
    inputs, sample = packed()
    inputs['driver_img'] = inputs['driver_img'][:1]
    with pytest.raises(UserError, match='1 channels'):
        Head2HeadDataPreprocessor()(collate([(inputs, sample)]))


def test_missing_inputs():
    with pytest.raises(UserError, match='source_imgs and driver_img'):
        Head2HeadDataPreprocessor()(dict(inputs=torch.zeros(1, 3, 8, 8)))
