"""Building and running sister-package (mmpose, mmseg) models without changing global state."""
import os.path as osp
from typing import Union

import torch

from headswap.errors import UserError

__all__ = ['load_openmmlab_config', 'resolve_device']


def load_openmmlab_config(config: Union[str, dict], package: str):
    """A config from a file path or ``'<package>::<path inside its configs>'``.

    ``Config.fromfile('mmseg::...')`` does not work with the packages' ``.mim``
    folders; :func:`mmengine.hub.get_config` does.
    """
    from mmengine.config import Config
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config(config)
    if config.startswith(f'{package}::'):
        from mmengine.hub import get_config
        try:
            return get_config(config)
        except (FileNotFoundError, ValueError) as e:
            raise UserError(f'{config}: not found in the installed {package} ({e})') from None
    if not osp.isfile(config):
        raise UserError(f'{config}: no such config file')
    return Config.fromfile(config)


def resolve_device(device: str) -> str:
    """``'auto'`` -> ``'cuda'`` when a GPU is usable, else ``'cpu'``."""
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return device
