import importlib.util
import json
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_warping.py')
    spec = importlib.util.spec_from_file_location('benchmark_warping', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_face_layouts_are_plausible():
    lab = load_tool().face_layouts(2, 32, seed=0)
    assert lab.shape == (2, 32 * 32)
    present = set(lab.unique().tolist())
    assert {0, 1, 4, 5, 10, 14, 16, 17} <= present and max(present) < 19
    counts = [(lab == i).float().mean().item() for i in (0, 1, 17)]
    assert all(0.05 < c < 0.7 for c in counts)  # background, skin, hair: sizeable


def test_cpu_tiny_run_writes_a_table_and_json(tmp_path, capsys):
    out = str(tmp_path / 'warping.json')
    tool = load_tool()
    assert tool.main(['--device', 'cpu', '--tiny', '--grids', '8', '16', '--dtypes', 'fp32',
                      '--repeats', '1', '--out', out]) == 0
    table = capsys.readouterr().out
    assert '| 16x16 | fp32 | blocked |' in table and '# targets' in table
    rows = json.load(open(out))['rows']
    by = {(r['grid'], r['backend']): r for r in rows}
    assert 'auto' not in {r['backend'] for r in rows}  # an alias: its kernel is timed already
    for grid in (8, 16):
        assert by[(grid, 'flex')]['status'] == 'skip'  # no FlexAttention backward on CPU
        for backend in ('dense', 'perlabel', 'blocked'):
            row = by[(grid, backend)]
            assert row['status'] == 'ok' and row['ms'] > 0 and row['rel_err'] < 1e-4
            assert row['peak_mib'] is not None
