"""Spectral normalisation of every weight operator of a network (supplement sec. 3.2)."""
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ['apply_spectral_norm']

_OPERATORS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


def apply_spectral_norm(module: nn.Module, eps: float = 1e-6) -> nn.Module:
    """Wrap the ``weight`` of every convolution and linear layer of ``module`` in spectral norm.

    Uses torch's parametrization API, so the state dict keeps the raw weight as
    ``<layer>.parametrizations.weight.original`` with the power-iteration vectors
    ``_u`` and ``_v`` beside it. Layers already parametrized are left alone.
    Normalisation layers have no operator weight and are not touched.

    Args:
        module: The network, modified in place.
        eps: Epsilon of the power iteration's normalisation.

    Returns:
        ``module``.
    """
    for layer in list(module.modules()):
        if isinstance(layer, _OPERATORS) and not parametrize.is_parametrized(layer, 'weight'):
            spectral_norm(layer, eps=eps)
    return module
