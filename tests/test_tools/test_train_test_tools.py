"""The command-line tools, run as users run them (subprocesses, CPU)."""
import glob
import json
import os.path as osp
import re

import pytest
import torch

from tests.conftest import run_tool

# The tools run on the tiny toy GAN until a real stage config replaces it.
CONFIG = 'tests/data/configs/toy_gan.py'
MAX_ITERS = 8


def _losses(log_text: str) -> dict:
    """{iteration: {loss_name: value}} parsed from the training log."""
    out = {}
    for m in re.finditer(r'Iter\(train\) \[\s*(\d+)/\d+\].*', log_text):
        pairs = re.findall(r'(loss\w*): (-?[\d.]+)', m.group(0))
        out[int(m.group(1))] = {k: float(v) for k, v in pairs}
    return out


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp('train')
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(work)])
    return work, proc.stdout + proc.stderr


def test_train_writes_checkpoints_and_tensorboard(trained):
    work, log = trained
    assert osp.isfile(work / f'iter_{MAX_ITERS}.pth')
    assert glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert glob.glob(str(work / '*' / 'vis_data' / 'vis_image' / '*.png'))
    losses = _losses(log)
    assert sorted(losses) == list(range(1, MAX_ITERS + 1))
    assert all(k.startswith('loss') for k in losses[1])


def test_resume_auto_continues_with_identical_losses(trained, tmp_path):
    work, log = trained
    full = _losses(log)
    # a run that stopped at iteration 4 (its latest checkpoint) and is resumed with --resume
    half = tmp_path / 'half'
    run_tool(['tools/train.py', CONFIG, '--work-dir', str(half),
              '--cfg-options', 'train_cfg.max_iters=4'])
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(half), '--resume'])
    text = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 4' in text
    resumed = _losses(text)
    assert sorted(resumed) == list(range(5, MAX_ITERS + 1))
    for it in resumed:
        for k, v in resumed[it].items():
            assert v == pytest.approx(full[it][k], abs=1e-4), (it, k)


def test_dist_train_two_cpu_processes_then_test(tmp_path):
    work = tmp_path / 'dist'
    proc = run_tool(['tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work)],
                    env={'PORT': '29517'})
    text = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in text
    assert 'gloo process group (rank 0 of world size 2)' in text
    assert 'gloo process group (rank 1 of world size 2)' in text
    ckpt = work / f'iter_{MAX_ITERS}.pth'
    assert osp.isfile(ckpt)
    out = tmp_path / 'metrics.json'
    run_tool(['tools/test.py', CONFIG, str(ckpt), '--work-dir', str(work), '--out', str(out),
              '--show-dir', 'grids'])
    metrics = json.loads(out.read_text())
    assert metrics and all(isinstance(v, float) for v in metrics.values())
    assert osp.isfile(tmp_path / 'metrics.md')
    assert glob.glob(str(work / '*' / 'grids' / '*.png'))


def _error_line(proc) -> str:
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    return lines[-1]


def test_missing_config_is_one_line(tmp_path):
    line = _error_line(run_tool(['tools/train.py', 'configs/nope.py'], check=False))
    assert 'configs/nope.py: no such config file' in line


def test_unknown_component_is_one_line(tmp_path):
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                     '--cfg-options', 'model.type=ToyGANN'], check=False)
    line = _error_line(proc)
    assert 'unknown component type ToyGANN' in line and 'ToyGAN' in line


def test_missing_resume_path_is_one_line(tmp_path):
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--resume',
                     str(tmp_path / 'iter_99.pth')], check=False)
    assert 'iter_99.pth: no such checkpoint file' in _error_line(proc)


def test_corrupt_checkpoint_is_one_line(trained, tmp_path):
    work, _ = trained
    bad = tmp_path / 'iter_4.pth'
    bad.write_bytes((work / 'iter_4.pth').read_bytes()[:2048])
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'w'), '--resume',
                     str(bad)], check=False)
    assert 'iter_4.pth: not a readable checkpoint' in _error_line(proc)
    proc = run_tool(['tools/test.py', CONFIG, str(bad), '--work-dir', str(tmp_path / 'w')],
                    check=False)
    assert 'iter_4.pth: not a readable checkpoint' in _error_line(proc)


def test_amp_flag_trains(tmp_path):
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--amp',
                     '--cfg-options', 'train_cfg.max_iters=2'])
    cfg_text = glob.glob(str(tmp_path / '*.py'))[0]
    assert "AutocastOptimWrapper" in open(cfg_text).read()
    assert torch.isfinite(torch.tensor(list(_losses(proc.stdout + proc.stderr)[2].values()))).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_rng_state_restores_from_gpu_tensors():
    """On resume the Runner maps checkpoints to the GPU; generator states must still load."""
    import numpy as np

    from headswap.engine.hooks.rng_state_hook import get_rng_state, set_rng_state
    state = get_rng_state()
    expected = (np.random.rand(), torch.rand(1).item())
    on_gpu = dict(state, torch=state['torch'].cuda(),
                  numpy=dict(state['numpy'], keys=state['numpy']['keys'].cuda()))
    set_rng_state(on_gpu)
    assert (np.random.rand(), torch.rand(1).item()) == expected
