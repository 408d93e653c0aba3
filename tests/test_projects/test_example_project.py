"""projects/example_project: the Charbonnier loss plugin, pulled in by its config."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from headswap.registry import MODELS
from headswap.utils import register_all_modules
from tests.conftest import REPO, run_tool

CONFIG = 'projects/example_project/configs/head2head_aligner_charbonnier_tiny.py'


def test_config_builds_the_aligner_with_the_charbonnier_loss():
    # Config.fromfile imports the plugin (custom_imports), as tools/train.py does
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    register_all_modules()
    from projects.example_project.example_project import CharbonnierLoss
    assert cfg.model.losses.l1 == dict(type='CharbonnierLoss', loss_weight=10.0, eps=1e-3)
    model = MODELS.build(cfg.model)
    l1 = model.losses['l1']
    assert type(l1) is CharbonnierLoss
    assert (l1.loss_weight, l1.eps) == (10.0, 1e-3)
    # the other losses are the tiny config's
    assert type(model.losses['vgg']).__name__ == 'FeatureMatchingLoss'
    assert list(model.losses['vgg'].layer_weights) == [1.0, 1.0, 1.0]
    # Charbonnier, not L1: a perfect prediction still costs weight * eps
    x = torch.rand(2, 3, 8, 8)
    assert l1(x, x).item() == pytest.approx(10.0 * 1e-3, rel=1e-5)


def test_trains_through_the_train_tool(tmp_path):
    # run as documented: from the repository root, with the root on PYTHONPATH
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                     'train_cfg.max_iters=3', 'default_hooks.logger.interval=1',
                     'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'])
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [3/3]' in log and 'loss_l1: ' in log
    dumped = open(tmp_path / osp.basename(CONFIG)).read()
    assert "type='CharbonnierLoss'" in dumped
    scalars = glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))[0]
    rows = [json.loads(line) for line in open(scalars) if line.strip()]
    l1 = [r['loss_l1'] for r in rows if 'loss_l1' in r]
    assert len(l1) == 3 and all(v == v and 0 < v < float('inf') for v in l1)
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(tmp_path / 'iter_3.pth')
    state = torch.load(tmp_path / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 3
    assert any(k.startswith('generator.') for k in state['state_dict'])


def test_plugin_that_cannot_be_imported_is_one_line():
    # without the repository root on PYTHONPATH the plugin package cannot be found
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', '/tmp/unused'], check=False,
                    env={'PYTHONPATH': ''})
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert proc.returncode != 0
    assert 'custom_imports failed' in lines[-1] and 'PYTHONPATH=$PWD' in lines[-1]
    assert 'Traceback' not in proc.stderr
