"""tools/misc/download_wheels.sh: fills WHEEL_DIR for offline_install.sh, against a local index.

pip is replaced by a recorder (no network in tests); the mmcv source archive comes from a
package-index page served here, with its sha256 in the link as PyPI lists it.
"""
import hashlib
import http.server
import os
import os.path as osp
import subprocess
import sys
import threading

import pytest

from tests.conftest import REPO

SCRIPT = osp.join(REPO, 'tools/misc/download_wheels.sh')
ARCHIVE = b'not really mmcv, but bytes with a digest'


@pytest.fixture
def index(tmp_path):
    """An HTTP package index with /simple/mmcv/ listing mmcv-2.1.0.tar.gz (and its sha256)."""
    root = tmp_path / 'index'
    (root / 'simple' / 'mmcv').mkdir(parents=True)
    (root / 'files').mkdir()
    (root / 'files' / 'mmcv-2.1.0.tar.gz').write_bytes(ARCHIVE)
    digest = {'value': hashlib.sha256(ARCHIVE).hexdigest()}

    def page():
        (root / 'simple' / 'mmcv' / 'index.html').write_text(
            '<html><body><a href="../../files/mmcv-2.0.0.tar.gz#sha256=00">mmcv-2.0.0</a>'
            f'<a href="../../files/mmcv-2.1.0.tar.gz#sha256={digest["value"]}">'
            'mmcv-2.1.0.tar.gz</a></body></html>')

    page()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(root), **k)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield dict(url=f'http://127.0.0.1:{server.server_port}/simple', digest=digest, page=page)
    server.shutdown()


def _run(tmp_path, index_url, *args):
    """The script with a python whose ``-m pip`` only records its arguments (and writes a
    file per requested package into ``-d``)."""
    log = tmp_path / 'pip.log'
    fake = tmp_path / 'python3'
    fake.write_text(f'''#!/usr/bin/env bash
if [ "$1" = -m ] && [ "$2" = pip ]; then
    echo "$@" >> {log}
    dest=; prev=
    for a in "$@"; do [ "$prev" = -d ] && dest=$a; prev=$a; done
    for a in "$@"; do case $a in *==*|addict|termcolor|yapf|platformdirs|ftfy|wcwidth|regex)
        touch "$dest/${{a%%==*}}-fake-py3-none-any.whl";; esac; done
    exit 0
fi
exec {sys.executable} "$@"
''')
    fake.chmod(0o755)
    env = dict(os.environ, PYTHON=str(fake), PIP_INDEX_URL=index_url)
    proc = subprocess.run(['bash', SCRIPT, str(tmp_path / 'wheels'), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    return proc, (log.read_text() if log.exists() else '')


def test_fills_the_wheel_dir_for_the_hosts_python(tmp_path, index):
    proc, pip = _run(tmp_path, index['url'], '--python-version', '3.12')
    assert proc.returncode == 0, proc.stderr
    # binary wheels for CPython 3.12, no dependency resolution, the pinned OpenMMLab versions
    # and the small packages they import
    assert len(pip.splitlines()) == 1  # one pip call: the sdist comes from the index page
    for flag in ('--no-deps', '--only-binary=:all:', '--python-version 3.12', '--abi cp312',
                 '--platform manylinux2014_x86_64', 'mmengine==0.10.7',
                 'mmsegmentation==1.2.2', 'addict', 'ftfy', 'yapf'):
        assert flag in pip, flag
    wheels = sorted(os.listdir(tmp_path / 'wheels'))
    assert 'mmcv-2.1.0.tar.gz' in wheels and 'mmengine-fake-py3-none-any.whl' in wheels
    assert (tmp_path / 'wheels' / 'mmcv-2.1.0.tar.gz').read_bytes() == ARCHIVE
    assert not any(w.startswith('.download') for w in wheels)  # its temporary folder is gone
    assert f'{len(wheels)} files in' in proc.stdout and 'CPython 3.12' in proc.stdout


def test_all_deps_resolves_dependencies(tmp_path, index):
    proc, pip = _run(tmp_path, index['url'], '--python-version', '3.11', '--all-deps')
    assert proc.returncode == 0, proc.stderr
    assert '--no-deps' not in pip and '--abi cp311' in pip and 'regex' in pip


def test_a_tampered_archive_leaves_the_wheel_dir_empty(tmp_path, index):
    index['digest']['value'] = '0' * 64
    index['page']()
    proc, _ = _run(tmp_path, index['url'], '--python-version', '3.12')
    assert proc.returncode != 0
    assert 'mmcv-2.1.0.tar.gz' in proc.stderr and 'sha256' in proc.stderr
    assert os.listdir(tmp_path / 'wheels') == []  # nothing half-downloaded moved into place


@pytest.mark.parametrize('args, message', [
    (['--python-version', '12'], '--python-version must look like 3.12, got 12'),
    (['--bogus'], 'unknown option --bogus'),
])
def test_bad_options_are_one_line(tmp_path, index, args, message):
    proc, pip = _run(tmp_path, index['url'], *args)
    assert proc.returncode == 2 and message in proc.stderr and pip == ''
