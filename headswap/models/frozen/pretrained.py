"""Old import path of the pretrained-weight helpers:
:mod:`headswap.utils.pretrained`."""
from headswap.utils.pretrained import FrozenModule, load_pretrained

__all__ = ['FrozenModule', 'load_pretrained']
