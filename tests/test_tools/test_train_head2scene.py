"""tools/train.py on the tiny stage-2 config with synthetic data: runs, logs, resumes."""
import glob
import json
import os
import os.path as osp
import shutil

import pytest

from tests.conftest import REPO, run_tool

CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'head2scene_toy.py')
LOSS_KEYS = ('loss_perceptual', 'loss_l1', 'loss_cycle', 'loss_cycle_other', 'loss_gan_g',
             'loss_gan_d')


def train(work_dir: str, *extra: str) -> None:
    """tools/train.py in a fresh process, one torch thread (``run_tool``): on a 2-core
    machine beside the other xdist worker, torch's default two threads took 3x as long."""
    run_tool([osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir', work_dir, *extra])


def scalars(work_dir: str) -> dict:
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    rows = [json.loads(line) for line in open(files[-1]) if line.strip()]
    return {row['iter']: row for row in rows if 'loss_l1' in row}


@pytest.mark.timeout(900)
def test_tiny_config_trains_logs_every_loss_and_resumes_exactly(tmp_path):
    full, resumed = str(tmp_path / 'full'), str(tmp_path / 'resumed')
    train(full)
    logs = scalars(full)
    assert sorted(logs) == [1, 2, 3, 4]
    for key in LOSS_KEYS:
        assert all(key in logs[i] for i in logs), key
    assert osp.isfile(osp.join(full, 'iter_4.pth'))
    grids = glob.glob(osp.join(full, '*', 'vis_data', 'vis_image', 'train_*.png'))
    assert grids, 'ImageGridHook wrote no training grid'

    os.makedirs(resumed)
    shutil.copy(osp.join(full, 'iter_2.pth'), resumed)
    train(resumed, '--resume', osp.join(resumed, 'iter_2.pth'))
    again = scalars(resumed)
    assert sorted(again) == [3, 4]
    for it in (3, 4):
        for key in LOSS_KEYS:
            assert again[it][key] == pytest.approx(logs[it][key], rel=1e-5, abs=1e-6), (it, key)
