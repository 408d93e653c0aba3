"""load_pretrained: a missing weights file says how to go on."""
import pytest
import torch
import torch.nn as nn

from headswap.errors import CheckpointError
from headswap.utils.pretrained import load_pretrained


def test_missing_file_names_it_and_the_ways_on(tmp_path):
    missing = tmp_path / 'vgg.pth'
    with pytest.raises(CheckpointError) as e:
        load_pretrained(nn.Linear(2, 2), str(missing), 'VGG-19')
    msg = str(e.value)
    assert '\n' not in msg and msg.startswith(f'{missing}: no such weights file for the VGG-19')
    assert 'checkpoint=PATH' in msg and 'None for random weights' in msg


def test_a_file_that_fits_loads_key_for_key(tmp_path):
    src, dst = nn.Linear(2, 2), nn.Linear(2, 2)
    torch.save(src.state_dict(), tmp_path / 'w.pth')
    load_pretrained(dst, str(tmp_path / 'w.pth'), 'linear')
    assert torch.equal(dst.weight, src.weight)


def test_a_path_under_home_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    src, dst = nn.Linear(2, 2), nn.Linear(2, 2)
    torch.save(src.state_dict(), tmp_path / 'w.pth')
    load_pretrained(dst, '~/w.pth', 'linear')
    assert torch.equal(dst.weight, src.weight)
