"""Old import path of the OpenMMLab config helpers:
:mod:`headswap.utils.openmmlab_scope`."""
from headswap.utils.openmmlab_scope import load_openmmlab_config, resolve_device

__all__ = ['load_openmmlab_config', 'resolve_device']
