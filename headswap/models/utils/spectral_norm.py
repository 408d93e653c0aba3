import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.spectral_norm import SpectralNorm

__all__ = ['warm_up_spectral_norm']


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
