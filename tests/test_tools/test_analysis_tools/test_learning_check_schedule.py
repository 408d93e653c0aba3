"""learning_check keeps the config's schedule: its budget stops a run early, never late."""
import os.path as osp
import sys

from tests.conftest import REPO
from tests.test_tools.tool_loader import load_tool

TEN_MINUTES = 'configs/head2head/head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-2500_sample-512.py'


def test_the_run_ends_where_the_config_schedule_does(tmp_path):
    """The ten-minute config's learning rate reaches its floor and its adversarial terms start
    at step 2500; a faster step must not carry the measured run past it."""
    sys.path.insert(0, osp.join(REPO, 'tools/analysis_tools'))
    try:
        tool = load_tool('tools/analysis_tools/learning_check.py')
    finally:
        sys.path.remove(osp.join(REPO, 'tools/analysis_tools'))
    args = (osp.join(REPO, TEN_MINUTES), 'train.json', 'data/sample', str(tmp_path), False, 0)
    cfg = tool.training_config(*args, {})
    assert cfg.train_cfg.max_iters == 2500 == cfg.model.gan_warmup
    cfg = tool.training_config(*args, {'train_cfg.max_iters': 40})
    assert cfg.train_cfg.max_iters == 40
    assert cfg.val_cfg is None and cfg.default_hooks.checkpoint.interval == 10**9
