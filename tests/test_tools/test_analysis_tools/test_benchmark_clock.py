"""benchmark_train_loop's clock says when CUDA graphs were recorded inside its timed window."""
import os.path as osp
import sys
from types import SimpleNamespace

from tests.conftest import REPO
from tests.test_tools.tool_loader import load_tool


def _tool():
    sys.path.insert(0, osp.join(REPO, 'tools/analysis_tools'))
    try:
        return load_tool('tools/analysis_tools/benchmark_train_loop.py')
    finally:
        sys.path.remove(osp.join(REPO, 'tools/analysis_tools'))


def _run(clock, recordings_at):
    """Iterations 0..n-1 of a runner whose model has recorded ``recordings_at[i]`` graphs
    after iteration i."""
    graphs = SimpleNamespace(recordings=0)
    runner = SimpleNamespace(model=SimpleNamespace(cuda_graphs=graphs), iter=0)
    for i, n in enumerate(recordings_at):
        runner.iter, graphs.recordings = i, n
        clock.after_train_iter(runner, i)
    return clock


def test_recordings_inside_the_window_are_counted(capsys):
    tool = _tool()
    # warm-up 3, timed 4: a new K recorded at iterations 1 (warm-up) and 5 (timed)
    clock = _run(tool._Clock(3, 4, 0, cuda=False), [1, 2, 2, 2, 2, 3, 3, 3])
    assert clock.recordings_in_window == 1 and clock.seconds is not None
    clock = _run(tool._Clock(3, 4, 0, cuda=False), [1, 2, 3, 3, 3, 3, 3, 3])
    assert clock.recordings_in_window == 0
    tool.print_table([dict(variant='config', setting='b4', batch_size=4, s_per_iter=0.4,
                           images_per_s=10.0, recordings_in_window=1)])
    assert '0.400 (recordings inside)' in capsys.readouterr().out


def test_a_model_without_graphs_has_no_count():
    tool = _tool()
    clock = tool._Clock(1, 2, 0, cuda=False)
    runner = SimpleNamespace(model=SimpleNamespace(), iter=0)
    for i in range(3):
        runner.iter = i
        clock.after_train_iter(runner, i)
    assert clock.recordings_in_window is None
