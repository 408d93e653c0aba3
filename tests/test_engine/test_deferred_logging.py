"""Training without a GPU->host wait per iteration: deferred log reads, the non-finite check
every N iterations (with fused optimizers, the skip of a bad update stays on the device)."""
import json
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import LoggerHook, RuntimeInfoHook
from mmengine.logging import MessageHub

from headswap.engine.hooks import DeferredRuntimeInfoHook, NonFiniteLossHook
from tests.conftest import REPO, run_tool
from tests.test_engine.test_training_hooks import _Logger

SYNTHETIC = osp.join(REPO, 'tests/data/configs/head2head_aligner_tiny_synthetic.py')


def _runner(name, hooks=()):
    return SimpleNamespace(iter=0, epoch=0, max_epochs=1, max_iters=10, hooks=list(hooks),
                           train_dataloader=SimpleNamespace(dataset=object()),
                           message_hub=MessageHub.get_instance(name), logger=_Logger())


def _outputs(i):
    return dict(loss_l1=torch.tensor(float(i)), skipped=torch.tensor([2.0 * i]), host=0.5 * i)


def _history(runner, key):
    return runner.message_hub.get_scalar(f'train/{key}').data[0].tolist()


def test_deferred_hook_gives_the_message_hub_what_runtime_info_hook_gives():
    eager, deferred = _runner('eager_log'), _runner('deferred_log')
    ref, hook = RuntimeInfoHook(), DeferredRuntimeInfoHook(interval=3)
    hook.before_train(deferred)
    for i in range(7):
        for runner, h in ((eager, ref), (deferred, hook)):
            runner.iter = i
            h.after_train_iter(runner, i, None, _outputs(i))
        if i < 2:  # tensors wait for the read; host numbers go through at once
            assert 'train/loss_l1' not in deferred.message_hub.log_scalars
            assert _history(deferred, 'host') == _history(eager, 'host')
        if i == 2 or i == 5:  # iterations 3 and 6: read, in order, before the logger
            assert _history(deferred, 'loss_l1') == _history(eager, 'loss_l1')
    assert len(_history(deferred, 'loss_l1')) == 6  # iteration 7 still waits
    hook.after_train(deferred)  # the end of training reads the rest
    for key in ('loss_l1', 'skipped', 'host'):
        assert _history(deferred, key) == _history(eager, key)
    assert _history(deferred, 'skipped') == [2.0 * i for i in range(7)]


def test_deferred_hook_reads_as_often_as_the_logger_by_default():
    runner = _runner('deferred_default', hooks=[LoggerHook(interval=4)])
    hook = DeferredRuntimeInfoHook()
    hook.before_train(runner)
    assert hook.interval == 4
    assert DeferredRuntimeInfoHook().interval is None
    with pytest.raises(ValueError, match='interval must be >= 1'):
        DeferredRuntimeInfoHook(interval=0)


def test_non_finite_check_every_n_iterations_names_the_window():
    runner = _runner('nonfinite_window')
    hook = NonFiniteLossHook(interval=4)
    bad = dict(loss_l1=torch.tensor(float('nan')), loss_vgg=torch.tensor(1.0))
    for i in range(3):  # iterations 1-3: nothing read yet, even with a NaN at 2
        runner.iter = i
        hook.after_train_iter(runner, i, None, bad if i == 1 else _outputs(i))
    assert hook._read() == {'loss_l1': 'not finite'}
    # a bad value in the last, unfinished window is reported when training ends
    hook.after_train_iter(runner, 0, None, bad)
    hook.after_train(runner)
    assert runner.logger.messages and 'loss_l1' in runner.logger.messages[0]
    hook.after_train(runner)  # read once
    assert len(runner.logger.messages) == 1
    with pytest.raises(ValueError, match='interval must be >= 1'):
        NonFiniteLossHook(interval=0)


def test_training_without_per_iteration_reads_stops_on_nan(tmp_path):
    """The whole setting through tools/train.py: fused Adam (device-side skip), deferred
    log reads, the non-finite check every 3 iterations: a NaN loss from iteration 1 on is
    logged, stops training at the end of the first window with a checkpoint of finite
    weights, and the error names the window."""
    config = tmp_path / 'deferred.py'
    config.write_text(
        f"_base_ = [{SYNTHETIC!r}]\n"
        "optim_wrapper = dict(generator=dict(optimizer=dict(fused=True)),\n"
        "                     discriminator=dict(optimizer=dict(fused=True)))\n"
        "default_hooks = dict(runtime_info=dict(type='DeferredRuntimeInfoHook'),\n"
        "                     logger=dict(interval=3))\n"
        "custom_hooks = [dict(type='RNGStateHook'), dict(type='NonFiniteLossHook', interval=3)]\n")
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', str(config), '--work-dir', str(work), '--cfg-options',
                     'model.losses.l1.loss_weight=nan'], check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert 'non-finite loss within iterations 1-3: loss_l1=not finite' in line
    assert 'Traceback' not in proc.stderr
    ckpt = work / 'nonfinite_iter_3.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 3
    assert all(torch.isfinite(v).all() for v in state['state_dict'].values()
               if v.is_floating_point())
    # the window's values reached the logger: loss_l1 NaN, three skipped G updates
    scalars = [json.loads(line) for line in open(next(work.glob('*/vis_data/scalars.json')))]
    row = [r for r in scalars if r.get('iter') == 3][0]
    assert math.isnan(row['loss_l1']) and row['skipped_updates'] == 1.0
