import numpy as np
import pytest
import torch

from headswap.datasets import Head2SceneDataset
from .fake_talking_heads import make_dataset

PIPELINE = [dict(type='LoadHead2SceneFrames'), dict(type='PackHead2SceneInputs', strict=False)]


def _dataset(root, **kwargs):
    from headswap.utils import register_all_modules
    register_all_modules()
    return Head2SceneDataset(data_root=root, pipeline=PIPELINE, **kwargs)


def test_other_frame_is_from_the_same_video_and_far_enough(tmp_path):
    root = make_dataset(str(tmp_path), {('a', 'v', 'c1'): 8, ('a', 'v', 'c2'): 2,
                                        ('a', 'w', 'c1'): 3})
    ds = _dataset(root, min_frame_gap=3)
    assert len(ds) == 13
    np.random.seed(0)
    for i in range(len(ds)):
        out = ds[i]
        meta = out['data_samples'].metainfo
        video, clip, frame = meta['other_frame'].split('/')
        assert video == meta['video']
        assert (clip, int(frame)) != (meta['clip'], meta['frame'])
        if clip == meta['clip'] and meta['video'] == 'v' and clip == 'c1':
            assert abs(int(frame) - meta['frame']) >= 3
        inputs = out['inputs']
        assert inputs['target_img'].dtype == torch.uint8 and inputs['target_img'].shape == \
            (3, 32, 32)
        assert inputs['target_parsing'].dtype == torch.long and \
            inputs['target_parsing'].shape == (1, 32, 32)
        assert inputs['other_parsing'].shape == (1, 32, 32)
        assert torch.equal(out['data_samples'].gt_img, inputs['target_img'])


def test_single_frame_videos_error_or_skip(tmp_path):
    root = make_dataset(str(tmp_path), {('a', 'v', 'c'): 3, ('photo', 'images', '00000'): 1})
    with pytest.raises(ValueError, match=r'1 videos have a single frame.*\(photo/images\)'):
        _dataset(root)
    assert len(_dataset(root, on_small_pool='skip')) == 3


def test_strict_packing_needs_the_synthesised_head(tmp_path):
    root = make_dataset(str(tmp_path), {('a', 'v', 'c'): 2})
    from headswap.utils import register_all_modules
    register_all_modules()
    ds = Head2SceneDataset(data_root=root, pipeline=[dict(type='LoadHead2SceneFrames'),
                                                     dict(type='PackHead2SceneInputs')])
    with pytest.raises(KeyError, match='synthesis transform'):
        ds[0]


def test_flipped_samples_take_the_mirrored_frames_reading(tmp_path):
    """Stage 2's flip gives its landmarks as stage 1's does: the landmarker's reading of the
    mirrored frame where the bundled sample's index has it (FaceFlip exchanges the two)."""
    import json
    import os.path as osp

    from headswap.utils import register_all_modules
    from tests.conftest import REPO
    register_all_modules()
    root = osp.join(REPO, 'data/sample')
    ds = Head2SceneDataset(data_root=root, on_small_pool='skip',
                           pipeline=[dict(type='LoadHead2SceneFrames'),
                                     dict(type='FaceFlip', prob=1.0)])
    rows = {r['img_path']: r for r in json.load(open(osp.join(root, 'index.json')))['data_list']}
    checked = 0
    np.random.seed(0)
    for i in range(len(ds)):
        out = ds[i]
        row = rows[osp.relpath(out['img_path'], root).replace(osp.sep, '/')]
        if 'landmarks_mirrored' not in row:
            continue
        np.testing.assert_allclose(out['target_landmarks'], row['landmarks_mirrored'], atol=1e-4)
        np.testing.assert_allclose(out['target_landmarks_mirrored'], row['landmarks'], atol=1e-4)
        checked += 1
    assert checked >= 40
