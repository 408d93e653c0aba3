import json

import numpy as np
import pytest

from headswap.datasets import TalkingHeadSplitDataset
from headswap.utils.cli import UserError
from tests.conftest import REPO

ROOT = f'{REPO}/data/sample'


def _dataset(split='splits/self_reenactment.json', **kwargs):
    return TalkingHeadSplitDataset(data_root=ROOT, split_file=split, test_mode=True,
                                   pipeline=[], **kwargs)


def test_samples_follow_the_split():
    ds = _dataset(num_sources=4)
    split = json.load(open(f'{ROOT}/splits/self_reenactment.json'))
    assert len(ds) == sum(len(p['driver_frames']) for p in split['pairs'])
    first = ds[0]
    pair = split['pairs'][0]
    assert [f"{s['identity']}/{s['video']}/{s['clip']}/{s['frame']}"
            for s in first['sources']] == pair['source_frames'][:4]
    assert f"{first['identity']}/{first['video']}/{first['clip']}" == pair['driver_clip']
    assert first['frame'] == pair['driver_frames'][0]
    assert first['source_identity'] == 'carphone' and first['protocol'] == 'self_reenactment'
    assert first['other']['clip'] == first['clip'] and first['other']['frame'] != first['frame']


def test_k_shot_sources_are_nested():
    one, four = _dataset(num_sources=1)[5], _dataset(num_sources=4)[5]
    assert [s['img_path'] for s in one['sources']] == [s['img_path'] for s in four['sources'][:1]]


def test_pairs_with_too_few_sources_error_or_are_skipped():
    with pytest.raises(UserError, match='pairs list fewer than K=16 source frames'):
        _dataset(num_sources=16)
    ds = _dataset(num_sources=16, on_small_pool='skip')
    assert ds.num_pairs == 1 and all(len(ds[i]['sources']) == 16 for i in (0, len(ds) - 1))


def test_missing_clip_and_missing_split_are_one_line_errors(tmp_path):
    split = json.load(open(f'{ROOT}/splits/cross_identity.json'))
    split['pairs'][0]['source_frames'][0] = 'carphone/pristine/00001/99999'
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(split))
    with pytest.raises(UserError, match=r'pair 0 names the source frame '
                                        r'carphone/pristine/00001/99999, which is not in'):
        _dataset(str(bad))
    with pytest.raises(UserError, match='no such split file'):
        _dataset(str(tmp_path / 'nope.json'))


def test_random_test_transforms_are_seeded_per_sample_and_leave_numpy_alone():
    class Draw:
        def __call__(self, results):
            results['draw'] = np.random.rand()
            return results

    ds = TalkingHeadSplitDataset(data_root=ROOT, split_file='splits/reconstruction.json',
                                 test_mode=True, pipeline=[Draw()])
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a, b = ds[3]['draw'], ds[3]['draw']
    assert a == b and ds[4]['draw'] != a
    assert (np.random.get_state()[1] == before).all()


def test_indices_pick_pairs_samples():
    full, sub = _dataset(num_sources=2), _dataset(num_sources=2, indices=[3, 1])
    assert len(sub) == 2
    for i, row in enumerate([3, 1]):
        assert sub.pair_of(i) == full.pair_of(row)
        assert sub[i]['img_path'] == full[row]['img_path']
        assert [s['img_path'] for s in sub[i]['sources']] == \
            [s['img_path'] for s in full[row]['sources']]
