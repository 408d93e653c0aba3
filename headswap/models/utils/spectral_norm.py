import torch
import torch.nn as nn
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
                for _ in range(iterations):
                    hook.compute_weight(m, do_power_iteration=True)
                count += 1
    return count
