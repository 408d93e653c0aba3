from tests.conftest import run_tool

TOOL = 'tools/analysis_tools/flex_warmup_probe.py'


def test_times_each_call_and_refuses_a_cpu_backward():
    proc = run_tool([TOOL, '--device', 'cpu', '--grid', '16', '--batch', '2', '--channels', '16',
                     '--forward-only'])
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith('| ') and 'call' not
            in line and '---' not in line]
    assert [r.split('|')[1].strip() for r in rows] == ['first forward', 'forward, other labels']
    assert all(float(r.split('|')[3]) >= 0 for r in rows)
    proc = run_tool([TOOL, '--device', 'cpu', '--grid', '16'], check=False)
    assert proc.returncode == 2 and 'no backward on a CPU' in proc.stderr
