"""tools/test.py on the evaluation configs, the bundled real sample and tiny models.

Every test here checks one tools/test.py command. The commands are independent of each other,
so the ``runs`` fixture starts them all at once, two at a time (``ToolRuns``: one
single-threaded process per core), and each test waits for its own.
"""
import json
import shutil

import pytest

from tests.conftest import ToolRuns
from .tiny_eval import tiny_checkpoint, tiny_eval_config

PROTOCOLS = {
    'self_reenactment': ('configs/evaluation/head2head_self-reenactment_talking-heads-512.py',
                         'head2head',
                         # one identity in this split: no ID retrieval
                         {'CSIM', 'CSIM_target', 'pose_error', 'yaw_error',
                          'pitch_error', 'roll_error', 'expression_error', 'AKD', 'PSNR',
                          'SSIM', 'LPIPS', 'FID'}),
    'cross_identity': ('configs/evaluation/head2head_cross-identity_talking-heads-512.py',
                       'head2head',
                       {'CSIM', 'ID_top1', 'pose_error', 'yaw_error', 'pitch_error',
                        'roll_error', 'expression_error', 'AKD', 'FID'}),
    'reconstruction': ('configs/evaluation/head2scene_reconstruction_talking-heads-512.py',
                       'head2scene',
                       {'PSNR', 'PSNR_head', 'PSNR_inpaint', 'SSIM', 'LPIPS', 'LPIPS_head',
                        'LPIPS_inpaint', 'FID'}),
}


@pytest.fixture(scope='module')
def setups(tmp_path_factory):
    """{protocol: (tiny config, tiny checkpoint)}."""
    root = tmp_path_factory.mktemp('eval')
    out = {}
    for name, (config, stage, _) in PROTOCOLS.items():
        cfg = tiny_eval_config(config, stage, str(root / f'{name}.py'))
        out[name] = (cfg, tiny_checkpoint(cfg, str(root / f'{name}.pth')))
    return out


@pytest.fixture(scope='module')
def runs(setups, tmp_path_factory):
    """{name: (work dir, future of its tools/test.py command)}, all started at once: the
    protocols and the full-swap protocols (``--out WORK/metrics.json``), the reconstruction
    protocol a second time in a process of its own (``--out WORK/again.json``), and the
    commands to be refused (exit status 2, not raised here)."""
    out = {}
    with ToolRuns() as tools:

        def test_tool(name, cfg, ckpt, *more, check=True):
            work = tmp_path_factory.mktemp(name)
            more = [a.format(work=work) for a in more]
            args = ['tools/test.py', cfg] + ([ckpt] if ckpt else []) + ['--work-dir', str(work)]
            out[name] = (work, tools.start(args + more, check=check))
            return work

        # the longest first
        test_tool('self_reenactment', *setups['self_reenactment'], '--out', '{work}/metrics.json')
        test_tool('reconstruction', *setups['reconstruction'], '--out', '{work}/metrics.json')
        test_tool('reconstruction_again', *setups['reconstruction'], '--out', '{work}/again.json')
        for protocol, (config, _) in FULL_SWAP.items():
            cfg = tiny_eval_config(config, 'headswap',
                                   str(tmp_path_factory.mktemp('swap') / 'swap.py'))
            test_tool(f'swap_{protocol}', cfg, None, '--out', '{work}/metrics.json')
        test_tool('cross_identity', *setups['cross_identity'], '--out', '{work}/metrics.json')
        # refused
        cfg, ckpt = setups['self_reenactment']
        mismatched = tmp_path_factory.mktemp('sizes') / 'mismatched.py'
        shutil.copy(cfg, mismatched)
        # data at 48x48 for an aligner that renders 32x32 (the metrics' own size checks, between
        # output and ground truth, are tested in tests/test_evaluation/test_metrics/)
        test_tool('sizes', str(mismatched), ckpt, '--cfg-options',
                  'test_dataloader.dataset.pipeline.1.size=48', check=False)
        test_tool('other_stage', cfg, setups['reconstruction'][1], check=False)
        split = json.loads(open('data/sample/splits/cross_identity.json').read())
        split['pairs'][1]['driver_clip'] = 'carphone/lost/00001'
        bad = tmp_path_factory.mktemp('split') / 'bad.json'
        bad.write_text(json.dumps(split))
        test_tool('missing_clip', *setups['cross_identity'], '--cfg-options',
                  f'test_dataloader.dataset.split_file={bad}', check=False)
        yield out


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_protocol_runs_on_the_sample_and_prints_the_table(protocol, runs):
    work, run = runs[protocol]
    proc = run.result()
    metrics = json.loads((work / 'metrics.json').read_text())
    assert set(metrics) == PROTOCOLS[protocol][2]
    assert all(isinstance(v, float) and v == v for v in metrics.values())  # no NaN
    assert -1 <= metrics.get('CSIM', 0) <= 1 and 0 <= metrics.get('ID_top1', 0) <= 1
    table = (work / 'metrics.md').read_text()
    assert '| metric | value |' in proc.stdout and '| metric | value |' in table
    for key in metrics:
        assert f'| {key} |' in proc.stdout
    # the split fixes the inputs: a second run (another process) gives the same numbers
    if protocol == 'reconstruction':
        again, run = runs['reconstruction_again']
        run.result()
        assert json.loads((again / 'again.json').read_text()) == metrics


FULL_SWAP = {
    'cross_identity': ('configs/evaluation/headswap_cross-identity_talking-heads-512.py',
                       {'CSIM', 'ID_top1', 'pose_error', 'yaw_error', 'pitch_error',
                        'roll_error', 'expression_error', 'AKD', 'FID'}),
    'self_reenactment': ('configs/evaluation/headswap_self-reenactment_talking-heads-512.py',
                         {'CSIM', 'CSIM_target', 'pose_error', 'yaw_error', 'pitch_error',
                          'roll_error', 'expression_error', 'AKD', 'PSNR', 'PSNR_head',
                          'PSNR_inpaint', 'SSIM', 'LPIPS', 'LPIPS_head', 'LPIPS_inpaint',
                          'FID'}),
}


def _has_head_swapper() -> bool:
    from headswap.registry import MODELS
    from headswap.utils import register_all_modules
    register_all_modules()
    return MODELS.get('HeadSwapper') is not None


@pytest.mark.parametrize('protocol', sorted(FULL_SWAP))
def test_full_swap_protocol_runs_without_a_checkpoint_argument(protocol, runs):
    # the full-swap protocols name HeadSwapper: a missing registration is a failure, not a skip
    assert _has_head_swapper(), 'HeadSwapper is not registered in MODELS'
    _, keys = FULL_SWAP[protocol]
    work, run = runs[f'swap_{protocol}']
    proc = run.result()
    metrics = json.loads((work / 'metrics.json').read_text())
    assert set(metrics) == keys
    assert all(isinstance(v, float) and v == v for v in metrics.values())
    assert '| CSIM |' in proc.stdout


def _error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    return [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1]


def test_checkpoint_of_the_other_stage_is_refused(runs):
    line = _error_line(runs['other_stage'][1].result())
    assert 'reconstruction.pth: a Head2SceneBlender checkpoint' in line
    assert "does not fit the config's Head2HeadAligner" in line


def test_split_naming_a_missing_clip_is_refused(runs):
    line = _error_line(runs['missing_clip'][1].result())
    assert 'bad.json: pair 1 names the driver clip carphone/lost/00001' in line
    assert 'make_splits.py' in line


def test_images_of_different_sizes_are_refused(runs):
    line = _error_line(runs['sizes'][1].result())
    assert 'source_imgs is 48x48 but the model is configured for 32x32' in line
