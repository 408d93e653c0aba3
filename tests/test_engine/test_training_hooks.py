"""Training hooks of the stage-1 learning work: collapse warnings and wall-clock budgets."""
import os.path as osp
import re
from types import SimpleNamespace

import torch

from headswap.engine.hooks import DriverSensitivityHook
from tests.conftest import REPO, run_tool

SYNTHETIC = osp.join(REPO, 'tests/data/configs/head2head_aligner_tiny_synthetic.py')


class _Logger:
    def __init__(self):
        self.messages = []

    def warning(self, msg):
        self.messages.append(msg)

    def error(self, msg):
        self.messages.append(msg)


def _runner(it):
    return SimpleNamespace(iter=it, logger=_Logger())


def test_driver_sensitivity_hook_warns_on_collapse_only():
    hook = DriverSensitivityHook(threshold=0.1, start_iter=10, interval=5)
    collapsed = dict(driver_sensitivity=torch.tensor(0.02))
    following = dict(driver_sensitivity=torch.tensor(0.8))
    runner = _runner(0)
    for it, outputs in ((4, collapsed), (9, following), (9, collapsed), (12, collapsed),
                        (14, following), (19, collapsed)):
        runner.iter = it  # after_train_iter sees iteration it + 1
        hook.after_train_iter(runner, 0, None, outputs)
    # checked at iterations 10, 15 and 20; before start_iter (5) and between checks: silent
    assert hook.warnings == 2
    assert all('driver_sensitivity = 0.020 < 0.1' in m for m in runner.logger.messages)
    assert 'iteration 10' in runner.logger.messages[0]
    assert 'iteration 20' in runner.logger.messages[1]
    hook.after_train_iter(_runner(19), 0, None, {})  # nothing logged: nothing to check


def test_driver_sensitivity_hook_warns_when_outputs_vary_without_following():
    hook = DriverSensitivityHook(threshold=0.1, start_iter=1, interval=1, nearest_threshold=0.2)
    runner = _runner(0)
    # outputs spread like their targets but are not nearest their own: warned
    hook.after_train_iter(runner, 0, None, dict(driver_sensitivity=torch.tensor(0.7),
                                                driver_nearest=torch.tensor(0.05)))
    assert hook.warnings == 1 and 'driver_nearest = 0.050 < 0.2' in runner.logger.messages[0]
    # following: silent; without the threshold the fraction is not checked
    hook.after_train_iter(runner, 0, None, dict(driver_sensitivity=torch.tensor(0.7),
                                                driver_nearest=torch.tensor(0.6)))
    off = DriverSensitivityHook(threshold=0.1, start_iter=1, interval=1, nearest_threshold=None)
    off.after_train_iter(runner, 0, None, dict(driver_sensitivity=torch.tensor(0.7),
                                               driver_nearest=torch.tensor(0.0)))
    assert hook.warnings == 1 and off.warnings == 0


def test_time_budget_stops_with_a_checkpoint_that_resumes(tmp_path):
    config = tmp_path / 'budget.py'
    config.write_text(f"_base_ = [{SYNTHETIC!r}]\n"
                      "custom_hooks = [\n"
                      "    dict(type='RNGStateHook'),\n"
                      "    dict(type='TimeBudgetHook', seconds=1e-3, check_interval=3)]\n"
                      "default_hooks = dict(logger=dict(interval=1))\n")
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', str(config), '--work-dir', str(work)])
    text = proc.stdout + proc.stderr
    assert 'time budget of 0 s spent after iteration 3' in text
    assert re.findall(r'Iter\(train\) \[\s*(\d+)/20\]', text)[-1] == '3'
    ckpt = work / 'iter_3.pth'
    assert ckpt.is_file() and (work / 'last_checkpoint').read_text().strip() == str(ckpt)
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 3 and 'optimizer' in state
    # a longer budget: --resume picks the budget's checkpoint and goes on to the end
    config.write_text(config.read_text().replace('seconds=1e-3', 'seconds=3600'))
    proc = run_tool(['tools/train.py', str(config), '--work-dir', str(work), '--resume'])
    text = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 3' in text
    assert (work / 'iter_20.pth').is_file()
