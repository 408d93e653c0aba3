import json

from tests.conftest import run_tool


def test_benchmark_runs_on_cpu_and_merges_results(tmp_path):
    out = tmp_path / 'bench.json'
    args = ['tools/analysis_tools/benchmark_aligner.py', '--device', 'cpu', '--tiny',
            '--iters', '2', '--warmup', '1', '--compile', 'off', '--out', str(out),
            '--light-import']
    proc = run_tool(args + ['--variants', 'fp32,bf16', '--channels-last', 'off',
                            '--curve-iters', '6', '--curve-window', '3'], check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: curves disagree
    assert '| fp32 | NCHW | no |' in proc.stdout and '| bf16 | NCHW | no |' in proc.stdout
    assert 'curve check:' in proc.stdout
    report = json.loads(out.read_text())
    assert {r['precision'] for r in report['speed']} == {'fp32', 'bf16'}
    assert all(r['images_per_s'] > 0 and r['finite'] for r in report['speed'])
    check = report['curve_check']
    assert len(check['curves']['bf16']['loss_l1']) == 6
    assert set(check['agree']) == {'loss_l1', 'loss_vgg', 'loss_mask'}
    # a second command adds variants; the table covers both commands' results
    proc = run_tool(args + ['--variants', 'tf32', '--channels-last', 'on', '--curve-iters', '0'])
    assert '| bf16 | NCHW | no |' in proc.stdout and '| tf32 | channels_last | no |' in \
        proc.stdout
    report = json.loads(out.read_text())
    assert len(report['speed']) == 3 and 'curve_check' in report
