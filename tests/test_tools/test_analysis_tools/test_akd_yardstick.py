"""tools/analysis_tools/akd_yardstick.py on the bundled sample (CPU, offline landmarker)."""
import json

from tests.conftest import run_tool


def test_scores_grow_with_the_degradation_and_the_target_scores_perfect(tmp_path):
    out = tmp_path / 'yard.json'
    proc = run_tool(['tools/analysis_tools/akd_yardstick.py', '--size', '256', '--blur', '1',
                     '3', '--shift', '1', '4', '--rescale', '64', '--out', str(out)],
                    timeout=300)
    rows = json.loads(out.read_text())['rows']
    assert '| shift 4 px right and down |' in proc.stdout
    assert rows['target itself']['akd'] < 1e-3 and rows['target itself']['psnr_head'] >= 99
    assert rows['mean face']['akd_percent_of_mean_face'] == 100.0
    assert rows['mean face']['landmarks_kept'] == '10/12'  # the two pixelated drivers
    for kind, small, large in (('blur', 'blur sigma 1 px', 'blur sigma 3 px'),
                               ('shift', 'shift 1 px right and down',
                                'shift 4 px right and down')):
        a, b = rows[small], rows[large]
        assert 0 < a['akd'] < b['akd'], kind
        assert a['psnr_head'] > b['psnr_head'] > rows['mean face']['psnr_head'] - 3, kind
    # a shift of 4 px at 256 (8 px at 512) is farther off than the mean face
    assert rows['shift 4 px right and down']['akd_percent_of_mean_face'] > 100


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path):
    proc = run_tool(['tools/analysis_tools/akd_yardstick.py', '--shift', '0'], check=False,
                    timeout=120)
    assert proc.returncode == 2
    assert 'akd_yardstick: error: --shift must be between 1 and 511 px, got 0' in proc.stderr
    assert 'Traceback' not in proc.stderr
