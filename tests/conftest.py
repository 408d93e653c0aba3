import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import List

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def pytest_configure(config):
    """Under ``pytest -n N`` (pytest-xdist), each worker's torch uses its share of the
    cores, so that N workers never put more threads than cores on the machine."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0') or 0)
    if workers > 1:
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# Modules whose module fixtures start tool runs or processes. A module fixture runs once per
# worker that runs a test of its module: with the tests of such a module split over the two
# workers of ``-n 2``, every run of the fixture ran twice. Under pytest-xdist the tests of each
# of these modules go to one worker together, and these modules are handed out first (xdist's
# order: most tests first); every other test goes, alone, to whichever worker is free.
ONE_WORKER_MODULES = frozenset(f'tests/{m}.py' for m in (
    'test_demo/test_web_demo_browser',
    'test_engine/test_gradient_sync',
    'test_models/test_aligners/test_driver_following',
    'test_tools/test_analysis_tools/test_kshot_eval',
    'test_tools/test_analysis_tools/test_stage1_proxy',
    'test_tools/test_evaluation_protocols',
    'test_tools/test_train_head2head_aligner',
    'test_tools/test_train_test_tools',
))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's ``load`` distribution (the default of ``-n``), but the tests of each module of
    :data:`ONE_WORKER_MODULES` are one unit of work (xdist's own ``xdist_group`` mark does
    nothing under pytest 9: it rewrites a node id attribute that pytest no longer reads)."""
    if config.getvalue('dist') != 'load':
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesTogether(LoadScopeScheduling):

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split('::', 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return ModulesTogether(config, log)


def _tool_env(env=None) -> dict:
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env['PYTHON'] = sys.executable
    if env:
        full_env.update(env)
    return full_env


def _run(args, full_env, timeout, check, cwd):
    cmd = args if args[0].endswith('.sh') else [sys.executable] + list(args)
    if args[0].endswith('.sh'):
        cmd = ['bash'] + list(args)
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


def run_tool(args, env=None, timeout=600, check=True, cwd=REPO):
    """Run ``python ARGS`` (or a shell script) from the repo root; return the CompletedProcess."""
    return _run(args, _tool_env(env), timeout, check, cwd)


class ToolRuns:
    """Tool runs started in the background, ``workers`` (2) at a time, in the order started.

    The tool processes are single-threaded (``OMP_NUM_THREADS=1``, forced here: two of them
    never put more threads than that on two cores), so two at a time use both cores of a
    2-core machine, where one after the other leaves one idle. Each run is still a fresh
    interpreter, as users run the tools. ``start`` takes ``run_tool``'s arguments (the
    environment is taken then, in the calling thread) and returns a future: ``.result()``
    waits for the run and returns its CompletedProcess, or raises its error (``check``,
    ``timeout``), so that a failing run fails the tests that use it. ``close`` waits for
    every run (a fixture's teardown: no run outlives its module); ``with ToolRuns() as
    tools:`` closes at the end of the block, however it ends.
    """

    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._futures: List[Future] = []

    def start(self, args, env=None, timeout=600, check=True, cwd=REPO) -> Future:
        full_env = _tool_env(dict(env or {}, OMP_NUM_THREADS='1'))
        future = self._pool.submit(_run, list(args), full_env, timeout, check, cwd)
        self._futures.append(future)
        return future

    def close(self) -> None:
        for future in self._futures:
            try:
                future.result()
            except BaseException:  # reported by the tests that use the run
                pass
        self._pool.shutdown()

    def __enter__(self) -> 'ToolRuns':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def selected(request, test_name: str) -> bool:
    """Whether the test ``test_name`` of the requesting fixture's module is in this session
    (a module fixture that starts a test's long run early starts it only then)."""
    return any(item.module is request.module and item.originalname == test_name
               for item in request.session.items)


@pytest.fixture(scope='session')
def repo_root():
    return REPO
