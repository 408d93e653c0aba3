import json

import pytest

from headswap.utils.config import load_config
from tests.conftest import run_tool
from tests.test_tools.tool_loader import load_tool

TOOL = 'tools/analysis_tools/benchmark_train_loop.py'
LMK = 'configs/head2head/head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-200k_talking-heads-512.py'


def test_the_old_path_reads_every_iteration():
    """The baseline really is the path before: the one-GPU config reads its logs in batches,
    checks non-finite losses every logger interval and skips bad steps on the device; the
    baseline undoes all three."""
    tool = load_tool(TOOL)
    cfg = load_config(LMK)
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert cfg.default_hooks.runtime_info.type == 'DeferredRuntimeInfoHook'
    assert hooks['NonFiniteLossHook']['interval'] == 50
    assert all(cfg.optim_wrapper[p].optimizer.fused for p in ('generator', 'discriminator'))
    tool.per_iteration_reads(cfg)
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert cfg.default_hooks.runtime_info.type == 'RuntimeInfoHook'
    assert hooks['NonFiniteLossHook']['interval'] == 1
    assert not any(cfg.optim_wrapper[p].optimizer.get('fused')
                   for p in ('generator', 'discriminator'))


def test_benchmark_trains_both_variants_on_the_sample(tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool([TOOL, '--tiny', '--warmup', '1', '--iters', '2', '--profile',
                     str(tmp_path / 'prof'), '--profile-iters', '1', '--out', str(out)],
                    timeout=600)
    assert '| per-iteration reads |' in proc.stdout and '| config |' in proc.stdout
    assert 'host ms waiting' in proc.stdout
    rows = json.loads(out.read_text())['rows']
    assert [r['variant'] for r in rows] == ['per-iteration reads', 'config']
    for r in rows:
        assert r['iters'] == 2 and r['s_per_iter'] > 0 and r['images_per_s'] > 0
        assert r['profile']['operators'] > 100  # one profiled iteration of the tiny model
    for name in ('per-iteration_reads', 'config'):
        assert 'Self CPU' in (tmp_path / 'prof' / f'{name}.txt').read_text()


def test_settings_run_side_by_side_and_compare_samples_per_second(tmp_path):
    """Each --setting is the config with its options: the batch size really changes, and
    the table compares images/s (a setting of twice the batch at the same s/iter is 2x)."""
    out = tmp_path / 'bench.json'
    proc = run_tool([TOOL, '--tiny', '--warmup', '1', '--iters', '2', '--variants', 'config',
                     '--setting', 'b2', '', '--setting', 'b1',
                     'train_dataloader.batch_size=1 model.gan_warmup=10 '
                     'model.discriminator_start=10', '--fit-seconds', '60', '--out', str(out)],
                    timeout=600)
    rows = json.loads(out.read_text())['rows']
    assert [(r['setting'], r['batch_size']) for r in rows] == [('b2', 2), ('b1', 1)]
    assert '| config, b2 | 2 |' in proc.stdout and '| config, b1 | 1 |' in proc.stdout
    ratio = rows[1]['images_per_s'] / rows[0]['images_per_s']
    assert f'| {ratio:.2f}x |' in proc.stdout
    for r in rows:  # the iterations that fit 60 s at each row's measured step
        assert r['fit_iters'] == int(60 / r['s_per_iter'])
        assert f'| {r["fit_iters"]} |' in proc.stdout


def test_a_setting_that_is_not_key_value_pairs_is_refused():
    tool = load_tool(TOOL)
    assert tool.parse_options('a.b=1 c=x') == {'a.b': 1, 'c': 'x'}
    with pytest.raises(SystemExit):
        tool.parse_args(['--setting', 'bad', 'batch_size'])
