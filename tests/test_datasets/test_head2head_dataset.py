import json

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from headswap.datasets import Head2HeadDataset
from headswap.datasets.samplers import KShotBatchSampler, ResumableInfiniteSampler
from .fake_talking_heads import make_dataset

PIPELINE = [dict(type='LoadHead2HeadFrames'), dict(type='PackHead2HeadInputs')]
LAYOUT = {('a', 'v1', 'c1'): 4, ('a', 'v1', 'c2'): 3, ('a', 'v2', 'c1'): 5, ('b', 'v1', 'c1'): 6}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_dataset(str(tmp_path_factory.mktemp('th')), LAYOUT)


def _dataset(root, **kwargs):
    from headswap.utils import register_all_modules
    register_all_modules()
    return Head2HeadDataset(data_root=root, pipeline=PIPELINE, **kwargs)


@pytest.mark.parametrize('scope', ['clip', 'video', 'identity', 'other_videos'])
def test_sources_come_from_the_configured_scope(root, scope):
    # identity b has a single video: no source for it in 'other_videos'
    skip = scope == 'other_videos'
    ds = _dataset(root, num_sources=2, source_scope=scope,
                  on_small_pool='skip' if skip else 'error')
    assert len(ds) == (12 if skip else sum(LAYOUT.values()))
    np.random.seed(0)
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample['data_samples'].metainfo
        frames = meta['source_frames']
        assert len(frames) == 2 and len(set(frames)) == 2
        target = f'{meta["video"]}/{meta["clip"]}/{meta["frame"]:06d}'
        assert target not in frames  # exclude_target
        for f in frames:
            video, clip, _ = f.split('/')
            if scope == 'clip':
                assert (video, clip) == (meta['video'], meta['clip'])
            elif scope == 'video':
                assert video == meta['video']
            elif scope == 'other_videos':
                assert video != meta['video']
        if skip:
            assert meta['identity'] == 'a'


def _frame_key(by_value: dict, img: torch.Tensor) -> tuple:
    """(identity, video, clip, frame) of a fake frame, from its grey value (right of the band)."""
    e = by_value[int(img[0, 16, 31])]
    return e['identity'], e['video'], e['clip'], e['frame']


@pytest.mark.parametrize('scope', ['clip', 'video', 'identity', 'other_videos'])
def test_loaded_source_images_are_of_the_target_identity(root, scope):
    """The source *pixels*, not the metainfo names: identities a and b both have ``v1/c1``, so
    ``source_frames`` (video/clip/frame) cannot tell a's sources from b's. Every fake frame
    encodes its position in index.json in its grey value; each loaded source is looked up there.
    """
    with open(f'{root}/index.json') as f:
        entries = json.load(f)['data_list']
    by_value = {(n * 7) % 256: e for n, e in enumerate(entries)}
    assert len(by_value) == len(entries)
    ds = _dataset(root, num_sources=2, source_scope=scope,
                  on_small_pool='skip' if scope == 'other_videos' else 'error')
    np.random.seed(0)
    identities = set()
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample['data_samples'].metainfo
        target = (meta['identity'], meta['video'], meta['clip'], meta['frame'])
        assert _frame_key(by_value, sample['inputs']['driver_img']) == target
        identities.add(meta['identity'])
        for img in sample['inputs']['source_imgs']:
            key = _frame_key(by_value, img)
            assert key[0] == target[0], (scope, target, key)  # never another person
            assert key != target
            if scope == 'clip':
                assert key[:3] == target[:3]
            elif scope == 'video':
                assert key[:2] == target[:2]
            elif scope == 'other_videos':
                assert key[1] != target[1]
    assert identities == ({'a'} if scope == 'other_videos' else {'a', 'b'})


def test_other_videos_scope_errors_or_skips_small_identities(root):
    with pytest.raises(ValueError, match=r"fewer than K=2 .* b \(0\).*on_small_pool='skip'"):
        _dataset(root, num_sources=2, source_scope='other_videos')
    ds = _dataset(root, num_sources=2, source_scope='other_videos', on_small_pool='skip')
    assert len(ds) == 12  # identity a only
    with pytest.raises(ValueError, match='no target is left'):
        _dataset(root, num_sources=7, source_scope='identity', on_small_pool='skip',
                 identities=['b'])


def test_packed_fields_follow_the_contract(root):
    ds = _dataset(root, num_sources=3, source_scope='identity')
    out = ds[0]
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs['source_imgs'].shape == (3, 3, 32, 32)
    assert inputs['source_imgs'].dtype == torch.uint8
    assert inputs['driver_img'].shape == (3, 32, 32) and inputs['driver_img'].dtype == torch.uint8
    assert torch.equal(sample.gt_img, inputs['driver_img'])  # D = I_T in training
    assert sample.gt_mask.shape == (1, 32, 32) and sample.gt_mask.dtype == torch.float32
    # head = skin and eye (labels 1, 4); cloth rows (label 16) and background are not head
    assert sample.gt_mask[0, :4].sum() == 0 and sample.gt_mask[0, 16, 16] == 1
    assert sample.gt_landmarks.shape == (68, 2)
    # images are RGB: the blue band is on the left
    assert inputs['driver_img'][:, 0, 0].tolist() == [0, 0, 255]
    assert {'identity', 'video', 'clip', 'frame', 'source_frames'} <= set(sample.metainfo)


def test_random_k_is_uniform_within_each_batch(root):
    ds = _dataset(root, num_sources=[1, 2, 3], source_scope='identity')
    sampler = ResumableInfiniteSampler(ds, shuffle=True, seed=3)
    batch_sampler = KShotBatchSampler(sampler, batch_size=3)
    loader = DataLoader(ds, batch_sampler=batch_sampler, collate_fn=pseudo_collate)
    seen = set()
    for n, batch in enumerate(loader):
        ks = {x.shape[0] for x in batch['inputs']['source_imgs']}
        assert len(ks) == 1
        assert all(s.metainfo['num_sources'] in ks for s in batch['data_samples'])
        seen |= ks
        if n == 30:
            break
    assert seen == {1, 2, 3}


def test_k_per_batch_survives_a_resume(root):
    ds = _dataset(root, num_sources=[1, 2, 4], source_scope='identity')

    def batches(skip):
        sampler = ResumableInfiniteSampler(ds, shuffle=True, seed=5)
        if skip:
            sampler.skip(skip)
        it = iter(KShotBatchSampler(sampler, batch_size=2))
        return [next(it) for _ in range(6)]

    full = batches(0)
    assert batches(4)[:4] == full[2:]  # two batches of 2 already trained on


def test_test_mode_sources_are_fixed(root):
    a = _dataset(root, num_sources=2, source_scope='identity', test_mode=True)
    np.random.seed(1)
    first = [a[i]['data_samples'].metainfo['source_frames'] for i in range(5)]
    np.random.seed(2)
    again = [a[i]['data_samples'].metainfo['source_frames'] for i in range(5)]
    assert first == again


def test_bad_indexes_give_clear_errors(tmp_path, root):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'index.json').write_text(json.dumps(dict(metainfo={}, data_list=[])))
    with pytest.raises(ValueError, match='index.json: the index has no frames'):
        _dataset(str(empty))
    with pytest.raises(FileNotFoundError, match='no such index'):
        _dataset(str(tmp_path / 'nowhere'))
    broken = make_dataset(str(tmp_path / 'broken'), {('a', 'v', 'c'): 3})
    import os
    os.remove(f'{broken}/frames/a/v/c/000001.png')
    with pytest.raises(FileNotFoundError, match=r'references .*000001.png, which does not exist'):
        _dataset(broken, num_sources=2, source_scope='clip', check_files=True)
    ds = _dataset(broken, num_sources=2, source_scope='clip')
    with pytest.raises(FileNotFoundError, match='000001.png: the index references this frame'):
        ds[1]


def test_indices_pick_samples_and_keep_every_frame_as_a_source(root):
    full = _dataset(root, num_sources=2, source_scope='video', on_small_pool='skip',
                    test_mode=True)
    first = _dataset(root, num_sources=2, source_scope='video', on_small_pool='skip',
                     test_mode=True, indices=3)
    picked = _dataset(root, num_sources=2, source_scope='video', on_small_pool='skip',
                      test_mode=True, indices=[5, 0, -1])
    assert len(first) == 3 and len(picked) == 3
    for ds, rows in ((first, [0, 1, 2]), (picked, [5, 0, len(full) - 1])):
        for i, row in enumerate(rows):
            assert ds.get_data_info(i)['img_path'] == full.get_data_info(row)['img_path']
            # the source pool is the kept sample's own, over the whole index
            assert np.array_equal(ds._source_pools[i], full._source_pools[row])
    with pytest.raises(ValueError, match='out of range'):
        len(_dataset(root, num_sources=2, indices=[len(full) + 3]))
