import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, env=None, timeout=600, check=True, cwd=REPO):
    """Run ``python ARGS`` (or a shell script) from the repo root; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env['PYTHON'] = sys.executable
    if env:
        full_env.update(env)
    cmd = args if args[0].endswith('.sh') else [sys.executable] + list(args)
    if args[0].endswith('.sh'):
        cmd = ['bash'] + list(args)
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


@pytest.fixture(scope='session')
def repo_root():
    return REPO
