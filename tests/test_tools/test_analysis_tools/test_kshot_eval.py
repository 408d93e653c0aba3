"""tools/analysis_tools/kshot_eval.py end to end on the bundled sample (tiny model, CPU)."""
import json
import statistics

import cv2
import pytest

from tests.conftest import ToolRuns
from tests.test_tools.tiny_eval import tiny_checkpoint, tiny_eval_config
from tests.test_tools.tool_loader import load_tool


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """{name: (dir, future of its kshot_eval.py command)}, both started at once (``ToolRuns``:
    one single-threaded process per core), on a tiny self-reenactment config and checkpoint."""
    tmp_path = tmp_path_factory.mktemp('kshot')
    cfg = tiny_eval_config('configs/evaluation/head2head_self-reenactment_talking-heads-512.py',
                           'head2head', str(tmp_path / 'eval.py'))
    ckpt = tiny_checkpoint(cfg, str(tmp_path / 'meta.pth'))
    tool = ['tools/analysis_tools/kshot_eval.py', ckpt, '--config', cfg]
    too_many = tmp_path_factory.mktemp('too_many')
    with ToolRuns() as tools:
        curves = tools.start(tool + [
            '--shots', '1', '2', '--ft-config',
            'tests/data/configs/head2head_aligner_tiny_ft_sample.py', '--ft-iters', '2',
            '--max-driver-frames', '2', '--work-dir', str(tmp_path / 'work'),
            '--out', str(tmp_path / 'kshot.json'), '--device', 'cpu'])
        refused = tools.start(tool + ['--shots', '64', '--no-finetune', '--work-dir',
                                      str(too_many)], check=False)
        yield dict(curves=(tmp_path, curves), too_many_shots=(too_many, refused))


def test_kshot_curves_meta_and_finetuned(runs):
    tmp_path, run = runs['curves']
    proc = run.result()
    out = tmp_path / 'kshot.json'
    results = json.loads(out.read_text())
    assert results['shots'] == [1, 2] and len(results['pairs']) == 2  # both sample pairs
    for mode in ('meta', 'ft'):
        for k in ('1', '2'):
            curve = results['curves'][mode][k]
            assert len(curve['per_pair']) == 2
            for key in ('CSIM', 'pose_error', 'expression_error', 'AKD'):
                # mean and (population) std over the pairs, recomputed from the per-pair rows
                values = [row[key] for row in curve['per_pair']]
                assert curve['mean'][key] == pytest.approx(statistics.fmean(values))
                assert curve['std'][key] == pytest.approx(statistics.pstdev(values), abs=1e-12)
            assert -1 <= curve['mean']['CSIM'] <= 1
    # fine-tuning changed the model: its outputs (hence metrics) differ from the meta model's
    assert results['curves']['ft']['2']['per_pair'] != results['curves']['meta']['2']['per_pair']
    png = cv2.imread(str(tmp_path / 'kshot.png'))
    assert png is not None and png.shape[1] > png.shape[0] > 300
    assert '| K | meta CSIM | meta pose_error | ft CSIM | ft pose_error |' in proc.stdout


def test_summary_of_known_values():
    """Hand-computed: values 1, 3 and 8 -> mean 4, population std sqrt(26 / 3)."""
    summarise = load_tool('tools/analysis_tools/kshot_eval.py').summarise
    rows = [dict(CSIM=1.0, AKD=2.0), dict(CSIM=3.0, AKD=2.0), dict(CSIM=8.0)]
    got = summarise(rows)
    assert got['mean'] == pytest.approx(dict(CSIM=4.0, AKD=2.0))
    assert got['std'] == pytest.approx(dict(CSIM=(26 / 3) ** 0.5, AKD=0.0))
    assert got['per_pair'] == rows


def test_too_many_shots_for_the_split_is_one_line(runs):
    proc = runs['too_many_shots'][1].result()  # --shots 64 --no-finetune
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'no pair lists K=64 source frames' in proc.stderr.strip().splitlines()[-1]
