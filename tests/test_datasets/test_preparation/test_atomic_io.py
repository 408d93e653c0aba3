"""Prepared files are written whole (temporary file + rename) with the mode the umask allows."""
import os
import stat

import numpy as np
import pytest

from headswap.datasets.preparation.atomic_io import atomic_write_image, atomic_write_json, file_mode


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize('mask, mode', [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert file_mode() == mode
    atomic_write_json(str(tmp_path / 'index.json'), dict(a=1))
    atomic_write_image(str(tmp_path / 'f.png'), np.zeros((4, 4), np.uint8))
    for name in ('index.json', 'f.png'):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name
    assert sorted(os.listdir(tmp_path)) == ['f.png', 'index.json']  # no temporary left
    assert os.umask(mask) == mask  # reading the umask left it as it was
