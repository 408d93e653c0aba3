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
