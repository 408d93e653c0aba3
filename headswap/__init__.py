"""headswap: few-shot head swapping (HeSer) on the OpenMMLab stack.

Importing the package is cheap and has no side effects: models, datasets and
other components are imported lazily through the registries in
:mod:`headswap.registry`.
"""
from .version import __version__

__all__ = ['__version__']
