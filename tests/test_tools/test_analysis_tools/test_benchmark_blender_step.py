"""tools/analysis_tools/benchmark_blender_step.py on a CPU, tiny config."""
import json

from tests.test_tools.tool_loader import load_tool

TINY = 'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py'


def test_precisions_and_backends_in_one_table(tmp_path, capsys):
    tool = load_tool('tools/analysis_tools/benchmark_blender_step.py')
    out = tmp_path / 'step.json'
    assert tool.main([TINY, '--device', 'cpu', '--backends', 'blocked', 'varlen',
                      '--precisions', 'fp32', 'bf16', '--iters', '1', '--out', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert [(r['precision'], r['backend']) for r in rows] == [
        ('fp32', 'blocked'), ('fp32', 'varlen'), ('bf16', 'blocked'), ('bf16', 'varlen')]
    assert all(r['status'] == 'ok' and r['ms'] > 0 for r in rows)
    table = capsys.readouterr().out
    assert '| fp32 | blocked |' in table and '| 1.00x |' in table and '| bf16 | varlen |' in table
