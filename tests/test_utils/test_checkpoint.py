import collections
import os
import pickle

import pytest
import torch

from headswap.utils.checkpoint import (CheckpointError, install_checkpoint_loader, load_weights,
                                       safe_torch_load)


class _Evil:
    """Unpickling this runs a shell command (classic malicious checkpoint)."""

    def __reduce__(self):
        return (os.system, ('echo pwned > /tmp/headswap_pwned',))


def test_malicious_checkpoint_is_refused(tmp_path):
    path = tmp_path / 'backbone.pth'
    torch.save({'conv.weight': torch.zeros(1), 'payload': _Evil()}, path)
    if os.path.exists('/tmp/headswap_pwned'):
        os.remove('/tmp/headswap_pwned')
    with pytest.raises(CheckpointError, match='backbone.pth.*refused.*system'):
        load_weights(str(path))
    assert not os.path.exists('/tmp/headswap_pwned')


def test_third_party_state_dict_loads(tmp_path):
    path = tmp_path / 'w.pth'
    torch.save({'state_dict': {'a': torch.ones(2)}}, path)
    assert torch.equal(load_weights(str(path))['a'], torch.ones(2))
    torch.save({'model': {'b': torch.ones(1)}}, path)
    assert 'b' in load_weights(str(path), key='model')
    with pytest.raises(CheckpointError, match="no key 'ema'"):
        load_weights(str(path), key='ema')


def test_corrupt_and_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match='no such'):
        safe_torch_load(str(tmp_path / 'nope.pth'))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty'):
        safe_torch_load(str(empty))
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.randn(100, 100)}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        safe_torch_load(str(truncated))


def test_runner_objects_allowed_but_getattr_restricted(tmp_path):
    from mmengine.logging import HistoryBuffer
    install_checkpoint_loader()
    buf = HistoryBuffer()
    buf.update(1.5)
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': {'loss': buf}}, path)
    loaded = safe_torch_load(str(path))
    assert loaded['message_hub']['loss'].mean() == 1.5

    class Sneaky:  # getattr on anything but a HistoryBuffer is refused

        def __reduce__(self):
            return (getattr, (collections.OrderedDict, 'fromkeys'))

    torch.save({'x': Sneaky()}, path)
    with pytest.raises(CheckpointError, match='refused.*OrderedDict.*not allowed'):
        safe_torch_load(str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
