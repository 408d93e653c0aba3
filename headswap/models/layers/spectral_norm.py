"""Spectral normalisation of every weight operator of a network (supplement sec. 3.2).

Two flavours live in headswap: layers wrapped by :func:`apply_spectral_norm` (torch's
parametrization API, used by the stage-1 networks) and mmcv ``ConvModule`` layers built
with ``with_spectral_norm=True`` (torch's older hook API, used by the stage-2 networks),
whose singular vectors :func:`warm_up_spectral_norm` refines after (re)initialisation.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.spectral_norm import SpectralNorm

__all__ = ['apply_spectral_norm', 'warm_up_spectral_norm']

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


@torch.no_grad()
def warm_up_spectral_norm(module: nn.Module, iterations: int = 20) -> int:
    """Run power iterations on every spectral-normalised layer of ``module``.

    ``torch.nn.utils.spectral_norm`` (used by mmcv's ``ConvModule``) starts
    from random singular vectors and refines them by one power iteration per
    training forward; in eval mode it uses them as they are. A network built
    (or re-initialised) and evaluated before training, or run in eval mode for
    a generator step, would otherwise divide its weights by a wrong norm.

    Returns:
        The number of layers warmed up.
    """
    count = 0
    for m in module.modules():
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm):
                weight = hook.reshape_weight_to_matrix(getattr(m, hook.name + '_orig'))
                u, v = getattr(m, hook.name + '_u'), getattr(m, hook.name + '_v')
                for _ in range(iterations):  # the power iteration of SpectralNorm.compute_weight
                    v.copy_(F.normalize(torch.mv(weight.t(), u), dim=0, eps=hook.eps))
                    u.copy_(F.normalize(torch.mv(weight, v), dim=0, eps=hook.eps))
                count += 1
    return count
