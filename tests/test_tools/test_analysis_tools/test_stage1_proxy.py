"""tools/analysis_tools/stage1_proxy.py: the CPU proxy of stage-1 learning runs and scores."""
import re

from tests.conftest import run_tool

TOOL = 'tools/analysis_tools/stage1_proxy.py'


def test_fit4_scores_training_and_evaluation_against_the_mean_face():
    proc = run_tool([TOOL, 'fit4', '--iters', '2', '--every', '1'])
    lines = [line for line in proc.stdout.splitlines() if line.startswith('step')]
    assert [line.split(' |')[0] for line in lines] == ['step 1', 'step 2']
    for line in lines:
        assert re.search(r'train: psnr [\d.]+ nearest \d/4 sensitivity [\d.]+', line), line
        assert re.search(r'eval: psnr [\d.]+ nearest \d/4', line), line
        assert float(re.search(r'mean face psnr ([\d.]+)', line).group(1)) > 15


def test_generator_mode_and_bad_size():
    proc = run_tool([TOOL, 'generator', '--iters', '20', '--every', '5', '--size', '16'])
    psnr = [float(x) for x in re.findall(r'psnr ([\d.]+)', proc.stdout)]
    assert len(psnr) == 4 and psnr[-1] > psnr[0] + 3  # the generator fits one image
    proc = run_tool([TOOL, 'fit4', '--size', '48'], check=False)
    assert proc.returncode == 2 and 'power of two' in proc.stderr.strip().splitlines()[-1]
