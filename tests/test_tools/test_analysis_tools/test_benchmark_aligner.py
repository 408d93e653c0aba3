import json
from types import SimpleNamespace

import pytest

from tests.conftest import run_tool
from tests.test_tools.tool_loader import load_tool

TOOL = 'tools/analysis_tools/benchmark_aligner.py'


def _moving_average(x, w):
    return [sum(x[i - w + 1:i + 1]) / w for i in range(w - 1, len(x))]


def test_benchmark_runs_on_cpu_and_merges_results(tmp_path):
    out = tmp_path / 'bench.json'
    args = [TOOL, '--device', 'cpu', '--tiny',
            '--iters', '2', '--warmup', '1', '--compile', 'off', '--out', str(out),
            '--light-import']
    # bf16 follows fp32 on the tiny model (judged losses within 0.3% over 6 iterations, the
    # tolerance is 5%): the curve check passes and the tool exits 0
    proc = run_tool(args + ['--variants', 'fp32,bf16', '--channels-last', 'off',
                            '--curve-iters', '6', '--curve-window', '3'])
    assert '| fp32 | NCHW | no |' in proc.stdout and '| bf16 | NCHW | no |' in proc.stdout
    assert 'curve check: PASS' in proc.stdout
    report = json.loads(out.read_text())
    assert {r['precision'] for r in report['speed']} == {'fp32', 'bf16'}
    assert all(r['images_per_s'] > 0 and r['finite'] for r in report['speed'])
    check = report['curve_check']
    assert len(check['curves']['bf16']['loss_l1']) == 6
    assert check['agree'] == {'loss_l1': True, 'loss_vgg': True, 'loss_mask': True}
    # the verdict, recomputed from the logged curves (moving average of 3, relative difference)
    for k in check['agree']:
        a = _moving_average(check['curves']['fp32'][k], 3)
        b = _moving_average(check['curves']['bf16'][k], 3)
        rel = max(abs(x - y) / abs(x) for x, y in zip(a, b))
        assert check['bf16_vs_fp32'][k]['rel_max'] == pytest.approx(rel)
        assert rel <= 0.05
    # a second command adds variants; the table covers both commands' results
    proc = run_tool(args + ['--variants', 'tf32', '--channels-last', 'on', '--curve-iters', '0'])
    assert '| bf16 | NCHW | no |' in proc.stdout and '| tf32 | channels_last | no |' in \
        proc.stdout
    report = json.loads(out.read_text())
    assert len(report['speed']) == 3 and 'curve_check' in report


@pytest.mark.parametrize('bf16_drift', [0.0, 0.2])
def test_curve_check_fails_when_bf16_drifts(monkeypatch, bf16_drift):
    """The judge itself: bf16 curves 20% off the fp32 ones fail; equal curves pass."""
    tool = load_tool(TOOL)
    fp32 = {k: [4.0, 3.0, 2.0, 1.0] for k in tool.JUDGED}

    def loss_curve(cfg, args, data, precision, *rest):
        scale = 1 + bf16_drift if precision == 'bf16' else 1
        return {k: [v * scale for v in c] for k, c in fp32.items()}

    monkeypatch.setattr(tool, 'loss_curve', loss_curve)
    args = SimpleNamespace(curve_iters=4, curve_window=2, curve_tol=0.05, cuda_graphs='off',
                           device='cpu')
    check = tool.curve_check(None, args, None)
    assert check['passed'] is (bf16_drift == 0)
    assert set(check['agree'].values()) == {bf16_drift == 0}


def test_landmark_conditioned_config_gets_landmarks(tmp_path):
    """--cfg-options reach the model, and the synthetic batches carry the landmarks a
    landmark-conditioned aligner refuses to train without (a failure is a table row)."""
    proc = run_tool([TOOL, '--device', 'cpu', '--tiny', '--iters', '1', '--warmup', '1',
                     '--variants', 'fp32', '--channels-last', 'off', '--compile', 'off',
                     '--curve-iters', '0', '--out', str(tmp_path / 'b.json'), '--cfg-options',
                     'model.landmark_map.type=LandmarkHeatmap', 'model.landmark_map.size=32',
                     'model.generator.cond_channels=8', 'model.generator.cond_max_size=32'])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / 'b.json').read_text())
    assert [r.get('error') for r in report['speed']] == [None], report['speed']
    assert report['speed'][0]['images_per_s'] > 0
