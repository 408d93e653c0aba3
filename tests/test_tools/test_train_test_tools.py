"""The command-line tools on the real tiny stage-1 config, run as users run them (CPU).

The config trains on the bundled ``data/sample`` at 32 px. What
``test_train_head2head_aligner.py`` already covers on synthetic data (every loss logged,
resume by path reproducing the weights, NaN stop, ``dist_train.sh`` with 2 CPU processes)
is not repeated here.

The commands are started together by the ``runs`` fixture, two at a time (``ToolRuns``: one
single-threaded process per core): those that need the first run's checkpoints once it has
written them; each test waits for its own.
"""
import glob
import json
import os.path as osp
import shutil

import pytest
import torch

from tests.conftest import ToolRuns

CONFIG = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
MAX_ITERS = 4
SHORT = [f'train_cfg.max_iters={MAX_ITERS}', 'default_hooks.checkpoint.interval=2',
         'default_hooks.logger.interval=1', 'default_hooks.visualization.interval=2']
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
LOSSES = {'loss_l1', 'loss_vgg', 'loss_arcface_fm', 'loss_disc_fm', 'loss_identity',
          'loss_g_adv', 'loss_mask', 'loss_d_adv'}
METRICS = {'CSIM', 'pose_error', 'expression_error', 'AKD', 'PSNR', 'SSIM', 'LPIPS'}


def _scalars(work) -> dict:
    """{iteration: {key: value}} of the training rows of the run's (only) scalars.json."""
    files = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r['iter']: r for r in rows if 'loss_l1' in r}


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """{name: (work dir, future of its command)}. 'train' is an uninterrupted 4-iteration run,
    validated at the end; the runs on its checkpoints start once it has finished (if it
    failed, the tests that need it fail on it, the others run)."""
    out = {}
    with ToolRuns() as tools:

        def start(name, args, check=True, work=None):
            work = work or tmp_path_factory.mktemp(name)
            out[name] = (work, tools.start([str(a).format(work=work) for a in args],
                                           check=check))

        train = ['tools/train.py', CONFIG, '--work-dir', '{work}']
        start('train', train + ['--cfg-options', *SHORT])
        start('amp', train + ['--amp', '--cfg-options', *SHORT, 'train_cfg.max_iters=1',
                              *NO_VAL])
        start('unknown_component', train + ['--cfg-options', 'model.losses.l1.type=L1Los'],
              check=False)
        start('missing_resume', train + ['--resume', '{work}/iter_99.pth'], check=False)
        start('missing_config', ['tools/train.py', 'configs/nope.py'], check=False)
        work, run = out['train']
        if run.exception() is None:  # (waits for it)
            # a run killed after iteration 2's checkpoint, for ``--resume auto``
            resume = tmp_path_factory.mktemp('resume')
            shutil.copy(work / 'iter_2.pth', resume / 'iter_2.pth')
            (resume / 'last_checkpoint').write_text(str(resume / 'iter_2.pth'))
            start('resume', train + ['--resume', 'auto', '--cfg-options', *SHORT, *NO_VAL],
                  work=resume)
            start('test', ['tools/test.py', CONFIG, work / f'iter_{MAX_ITERS}.pth',
                           '--work-dir', '{work}', '--out', '{work}/metrics.json',
                           '--show-dir', 'grids'])
            bad = tmp_path_factory.mktemp('corrupt') / 'iter_2.pth'
            bad.write_bytes((work / 'iter_2.pth').read_bytes()[:2048])
            start('corrupt_train', ['tools/train.py', CONFIG, '--work-dir', '{work}/w',
                                    '--resume', bad, '--cfg-options', *NO_VAL], check=False)
            start('corrupt_test', ['tools/test.py', CONFIG, bad, '--work-dir', '{work}/w'],
                  check=False)
        yield out


@pytest.fixture(scope='module')
def trained(runs):
    """The 'train' run: (work dir, its log)."""
    work, run = runs['train']
    proc = run.result()
    return work, proc.stdout + proc.stderr


def test_train_writes_checkpoints_tensorboard_and_validates(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    work, log = trained
    for it in (2, MAX_ITERS):
        assert osp.isfile(work / f'iter_{it}.pth')
    assert (work / 'last_checkpoint').read_text().strip() == str(work / f'iter_{MAX_ITERS}.pth')
    rows = _scalars(work)
    assert sorted(rows) == list(range(1, MAX_ITERS + 1))
    assert LOSSES <= set(rows[1])
    # the validation at the end ran over the whole sample's val split
    assert 'Iter(val) [24/24]' in log
    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(events[0])
    acc.Reload()
    tb = {s.step: s.value for s in acc.Scalars('loss_l1')}
    assert tb == pytest.approx({it: rows[it]['loss_l1'] for it in rows}, rel=1e-6)
    assert METRICS <= set(acc.Tags()['scalars'])
    assert [s.step for s in acc.Scalars('PSNR')] == [MAX_ITERS]
    assert {'train', 'val'} <= set(acc.Tags()['images'])
    grids = sorted(osp.basename(p) for p in glob.glob(
        str(work / '*' / 'vis_data' / 'vis_image' / '*.png')))
    assert grids == ['train_2.png', 'train_4.png', f'val_{MAX_ITERS}.png']


def test_resume_auto_continues_with_identical_losses(trained, runs):
    """A run killed after iteration 2's checkpoint; ``--resume auto`` finds it and goes on."""
    work, _ = trained
    full = _scalars(work)
    tmp_path, run = runs['resume']  # iter_2.pth and last_checkpoint naming it
    proc = run.result()
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    resumed = _scalars(tmp_path)
    assert sorted(resumed) == list(range(3, MAX_ITERS + 1))
    for it in resumed:
        for k in LOSSES:
            assert resumed[it][k] == pytest.approx(full[it][k], rel=1e-5, abs=1e-6), (it, k)
    assert osp.isfile(tmp_path / f'iter_{MAX_ITERS}.pth')


def test_amp_flag_trains_in_bfloat16(trained, runs):
    work, _ = trained
    tmp_path, run = runs['amp']
    run.result()
    dumped = open(tmp_path / osp.basename(CONFIG)).read()
    assert dumped.count("type='AutocastOptimWrapper'") == 2  # generator and discriminator
    amp, fp32 = _scalars(tmp_path)[1], _scalars(work)[1]
    assert all(torch.isfinite(torch.tensor(amp[k])) for k in LOSSES)
    # same seed and data as the fp32 run: close, but not equal (autocast was in effect)
    assert any(amp[k] != fp32[k] for k in LOSSES)
    for k in ('loss_l1', 'loss_vgg', 'loss_mask'):
        assert amp[k] == pytest.approx(fp32[k], rel=0.05), k


def test_test_tool_loads_the_checkpoint(trained, runs):
    """tools/test.py on the last checkpoint reproduces the end-of-training validation."""
    work, _ = trained
    tmp_path, run = runs['test']  # ITERS' checkpoint, --show-dir grids
    run.result()
    out = tmp_path / 'metrics.json'
    metrics = json.loads(out.read_text())
    assert METRICS <= set(metrics) and all(isinstance(v, float) for v in metrics.values())
    assert 'PSNR' in (tmp_path / 'metrics.md').read_text()
    assert len(glob.glob(str(tmp_path / '*' / 'grids' / '*.png'))) == 48  # one per sample
    files = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    with open(files[0]) as f:
        val = [json.loads(line) for line in f if 'PSNR' in line][-1]
    # the same weights (the EMA generator) on the same frames; CSIM is left out: its
    # random-weight ArcFace is initialised at a different point of the random stream
    for k in METRICS - {'CSIM'}:
        assert metrics[k] == pytest.approx(val[k], rel=1e-5), k


def _error_line(proc) -> str:
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    return lines[-1]


def test_missing_config_is_one_line(runs):
    line = _error_line(runs['missing_config'][1].result())
    assert 'configs/nope.py: no such config file' in line


def test_unknown_component_is_one_line(runs):
    """A misspelt type deep inside the model (a loss) fails with one line, not a traceback."""
    line = _error_line(runs['unknown_component'][1].result())  # model.losses.l1.type=L1Los
    assert 'unknown component type L1Los' in line and 'custom_imports' in line


def test_missing_resume_path_is_one_line(runs):
    proc = runs['missing_resume'][1].result()
    assert 'iter_99.pth: no such checkpoint file' in _error_line(proc)


def test_corrupt_checkpoint_is_one_line(trained, runs):
    """iter_2.pth cut to its first 2 kB, for ``tools/train.py --resume`` and tools/test.py."""
    proc = runs['corrupt_train'][1].result()
    assert 'iter_2.pth: not a readable checkpoint' in _error_line(proc)
    proc = runs['corrupt_test'][1].result()
    assert 'iter_2.pth: not a readable checkpoint' in _error_line(proc)


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
