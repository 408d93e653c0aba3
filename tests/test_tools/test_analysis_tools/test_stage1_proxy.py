"""tools/analysis_tools/stage1_proxy.py: the CPU proxy of stage-1 learning runs and scores."""
import re

import pytest

from tests.conftest import ToolRuns

TOOL = 'tools/analysis_tools/stage1_proxy.py'


@pytest.fixture(scope='module')
def runs():
    """Futures of the module's three commands, started at once (``ToolRuns``: one
    single-threaded process per core)."""
    with ToolRuns() as tools:
        yield dict(fit4=tools.start([TOOL, 'fit4', '--iters', '2', '--every', '1']),
                   generator=tools.start([TOOL, 'generator', '--iters', '20', '--every', '5',
                                          '--size', '16']),
                   bad_size=tools.start([TOOL, 'fit4', '--size', '48'], check=False))


def test_fit4_scores_training_and_evaluation_against_the_mean_face(runs):
    proc = runs['fit4'].result()  # fit4 --iters 2 --every 1
    lines = [line for line in proc.stdout.splitlines() if line.startswith('step')]
    assert [line.split(' |')[0] for line in lines] == ['step 1', 'step 2']
    for line in lines:
        assert re.search(r'train: psnr [\d.]+ nearest \d/4 sensitivity [\d.]+', line), line
        assert re.search(r'eval: psnr [\d.]+ nearest \d/4', line), line
        assert float(re.search(r'mean face psnr ([\d.]+)', line).group(1)) > 15


def test_generator_mode_and_bad_size(runs):
    proc = runs['generator'].result()  # generator --iters 20 --every 5 --size 16
    psnr = [float(x) for x in re.findall(r'psnr ([\d.]+)', proc.stdout)]
    assert len(psnr) == 4 and psnr[-1] > psnr[0] + 3  # the generator fits one image
    proc = runs['bad_size'].result()  # fit4 --size 48
    assert proc.returncode == 2 and 'power of two' in proc.stderr.strip().splitlines()[-1]
