"""tools/analysis_tools/benchmark_data_pipeline.py on the bundled sample."""
import json

from tests.test_tools.tool_loader import load_tool

TINY = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


def test_times_every_transform_for_each_k(tmp_path, capsys):
    tool = load_tool('tools/analysis_tools/benchmark_data_pipeline.py')
    out = tmp_path / 'data.json'
    assert tool.main(['--config', TINY, '--num-sources', '1', '2', '--samples', '2',
                      '--warmup', '1', '--out', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert set(rows) == {'1', '2'}
    for row in rows.values():
        parts = [v for k, v in row.items() if k != 'total']
        assert len(parts) >= 2 and all(v >= 0 for v in parts)
        assert 0 < sum(parts) <= row['total'] * 1.05  # the transforms are inside the total
    table = capsys.readouterr().out
    assert '| K |' in table and 'LoadHead2HeadFrames' in table and 'samples/s per worker' in table


def test_stage2_datasets_have_no_k(tmp_path, capsys):
    tool = load_tool('tools/analysis_tools/benchmark_data_pipeline.py')
    out = tmp_path / 'data.json'
    assert tool.main(['--config', 'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py',
                      '--samples', '2', '--warmup', '0', '--out', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert list(rows) == ['0'] and rows['0']['total'] > 0
    assert 'LoadHead2SceneFrames' in capsys.readouterr().out
