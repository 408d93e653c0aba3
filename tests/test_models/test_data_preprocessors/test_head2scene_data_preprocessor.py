import pytest
import torch
from mmengine.dataset import pseudo_collate

from headswap.models.data_preprocessors import Head2SceneDataPreprocessor
from headswap.utils.cli import UserError
from tests.toy_head2scene import HEAD_LABELS, ToyHead2SceneDataset


def batch(num: int = 2, size: int = 32) -> dict:
    ds = ToyHead2SceneDataset(num=num, size=size)
    samples = [ds[i] for i in range(num)]
    for s in samples:  # no synthesis pipeline: A is the target
        s['inputs']['head_img'] = s['inputs']['target_img'].clone()
        s['inputs']['head_parsing'] = s['inputs']['target_parsing'].clone()
    return pseudo_collate(samples)


def test_normalises_and_stacks():
    pre = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS)
    data = batch()
    raw = data['inputs']['target_img'][1]
    out = pre(data)
    inputs = out['inputs']
    assert set(inputs) == {'target_img', 'target_parsing', 'head_img', 'head_parsing',
                           'other_img', 'other_parsing'}
    assert inputs['target_img'].shape == (2, 3, 32, 32)
    assert inputs['target_img'].dtype == torch.float32
    assert inputs['target_parsing'].shape == (2, 1, 32, 32)
    assert inputs['target_parsing'].dtype == torch.long
    assert torch.allclose((inputs['target_img'][1] + 1) * 127.5, raw.float(), atol=1e-4)
    assert len(out['data_samples']) == 2


def test_list_of_dicts_and_without_other_frame():
    pre = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS)
    data = batch()
    items = [{k: v[i] for k, v in data['inputs'].items() if not k.startswith('other')}
             for i in range(2)]
    out = pre(dict(inputs=items, data_samples=data['data_samples']))
    assert 'other_img' not in out['inputs'] and out['inputs']['head_img'].shape[0] == 2


def test_parsing_size_must_match_the_image():
    pre = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS)
    data = batch()
    data['inputs']['head_parsing'] = [p[:, :16, :16] for p in data['inputs']['head_parsing']]
    with pytest.raises(UserError, match=r'head_parsing is 16x16 but head_img is 32x32'):
        pre(data)


def test_label_ids_outside_the_set_name_the_sample():
    pre = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS, num_classes=19)
    data = batch()
    data['inputs']['target_parsing'][1][0, 0, :3] = torch.tensor([19, 25, 19],
                                                                 dtype=torch.uint8)
    with pytest.raises(UserError, match=r'target_parsing of sample 1 \(id00001/toy/00001 '
                                        r'frame 0\) has label ids \[19, 25\]'):
        pre(data)


def test_empty_head_is_an_error_or_passes_through():
    data = batch()
    data['inputs']['head_parsing'][0].zero_()
    with pytest.raises(UserError, match='head_parsing of sample 0 .* has no head pixel'):
        Head2SceneDataPreprocessor(head_labels=HEAD_LABELS)(data)
    out = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS, empty_head='keep_target')(data)
    assert out['inputs']['head_parsing'][0].max() == 0


def test_other_input_errors():
    pre = Head2SceneDataPreprocessor(head_labels=HEAD_LABELS)
    data = batch()
    data['inputs']['head_img'] = [x.float() for x in data['inputs']['head_img']]
    with pytest.raises(UserError, match='head_img of sample 0 .* is torch.float32'):
        pre(data)
    data = batch()
    del data['inputs']['other_parsing']
    with pytest.raises(UserError, match="lack \\['other_parsing'\\]"):
        pre(data)
    with pytest.raises(ValueError, match='head_labels'):
        Head2SceneDataPreprocessor(head_labels=[1, 40])
