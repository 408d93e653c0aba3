"""The CelebAMask-HQ converter (on a two-image fake release) and the mmseg dataset on its output."""
import os
import os.path as osp

import cv2
import numpy as np

from ..tool_loader import ROOT, load_tool

TOOL = 'tools/dataset_converters/celebamask_hq.py'


def _fake_release(root):
    os.makedirs(osp.join(root, 'CelebA-HQ-img'))
    os.makedirs(osp.join(root, 'CelebAMask-HQ-mask-anno', '0'))
    with open(osp.join(root, 'CelebA-HQ-to-CelebA-mapping.txt'), 'w') as f:
        f.write('idx         orig_idx        orig_file\n0 119613 119614.jpg\n'
                '1 199999 200000.jpg\n')
    for n in (0, 1):
        cv2.imwrite(osp.join(root, 'CelebA-HQ-img', f'{n}.jpg'),
                    np.full((1024, 1024, 3), 100 + n, np.uint8))
    mask = lambda y0, y1: np.pad(np.full((y1 - y0, 512), 255, np.uint8),  # noqa: E731
                                 ((y0, 512 - y1), (0, 0)))
    anno = osp.join(root, 'CelebAMask-HQ-mask-anno', '0')
    cv2.imwrite(osp.join(anno, '00000_skin.png'), mask(100, 400))
    cv2.imwrite(osp.join(anno, '00000_nose.png'), mask(200, 250))   # painted over skin
    cv2.imwrite(osp.join(anno, '00000_hair.png'), mask(0, 120))     # later than skin: wins
    cv2.imwrite(osp.join(anno, '00000_l_eye.png'), mask(150, 160))
    cv2.imwrite(osp.join(anno, '00001_cloth.png'), mask(450, 512))


def test_converter_paints_parts_with_headswap_ids_and_splits(tmp_path):
    src, out = str(tmp_path / 'release'), str(tmp_path / 'out')
    _fake_release(src)
    counts = load_tool(TOOL).main([src, out, '--workers', '0'])
    assert counts == dict(train=1, val=0, test=1)
    labels = cv2.imread(osp.join(out, 'ann_dir/train/0.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (512, 512)
    assert labels[50, 0] == 17 and labels[110, 0] == 17   # hair (over skin where both)
    assert labels[155, 0] == 4 and labels[220, 0] == 10    # l_eye, nose
    assert labels[300, 0] == 1 and labels[450, 0] == 0     # skin, background
    test_labels = cv2.imread(osp.join(out, 'ann_dir/test/1.png'), cv2.IMREAD_UNCHANGED)
    assert (test_labels[450:] == 16).all()                 # cloth
    assert cv2.imread(osp.join(out, 'img_dir/train/0.jpg')).shape == (512, 512, 3)


def test_mmseg_builds_the_dataset_by_scoped_name(tmp_path):
    src, out = str(tmp_path / 'release'), str(tmp_path / 'out')
    _fake_release(src)
    load_tool(TOOL).main([src, out, '--workers', '0'])
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(data_root=out, pipeline=cfg.test_pipeline)
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmseg.registry import DATASETS
        ds = DATASETS.build(dataset_cfg)
        sample = ds[0]
    assert ds.metainfo['classes'][17] == 'hair' and len(ds.metainfo['classes']) == 19
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 512, 512) and int(seg[0, 50, 0]) == 17
