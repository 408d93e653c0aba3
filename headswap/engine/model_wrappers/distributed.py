"""DDP wrappers that also run on CPU (gloo).

mmengine's Runner builds DDP wrappers with ``device_ids=[LOCAL_RANK]``; DDP
refuses ``device_ids`` for a module on the CPU. These wrappers drop them when
the module is not on a GPU, so ``tools/dist_train.sh CONFIG 2`` works on a
machine without CUDA.
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel

from headswap.registry import MODEL_WRAPPERS

__all__ = ['DistributedDataParallelWrapper', 'SeparateDistributedDataParallel']


def _on_gpu(module: nn.Module) -> bool:
    param = next(module.parameters(), None)
    return param is not None and param.is_cuda


@MODEL_WRAPPERS.register_module()
class DistributedDataParallelWrapper(MMDistributedDataParallel):
    """:class:`mmengine.model.MMDistributedDataParallel` that also runs on CPU."""

    def __init__(self, module: nn.Module, device_ids: Optional[Sequence[int]] = None, **kwargs):
        if not _on_gpu(module):
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


@MODEL_WRAPPERS.register_module()
class SeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """One DDP wrapper per trainable top-level submodule, also on CPU.

    GAN models alternate discriminator and generator updates; wrapping each
    trainable submodule separately keeps DDP's reducer from waiting for
    gradients of the half that is not updated. Submodules whose parameters are
    all frozen (VGG-19, ArcFace, the face parser) are not wrapped at all.

    Checkpoints hold the submodules' own keys (``generator.0.weight``), not the
    wrappers' (``generator.module.0.weight``): mmengine's Runner saves
    ``model.module.state_dict()``, which would otherwise include each inner
    wrapper's ``module.``, while its loader unwraps wrappers and expects the
    plain keys, so a checkpoint from a distributed run would load nothing
    (silently, as testing loads non-strictly).
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs):
        if not _on_gpu(module):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, broadcast_buffers=broadcast_buffers,
                         find_unused_parameters=find_unused_parameters, **kwargs)
        for child in self.module.children():
            if isinstance(child, MMDistributedDataParallel):
                child._register_state_dict_hook(_drop_wrapper_prefix)


def _drop_wrapper_prefix(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """State-dict hook of an inner DDP wrapper: ``<prefix>module.<key>`` -> ``<prefix><key>``."""
    inner = prefix + 'module.'
    for key in [k for k in state_dict if k.startswith(inner)]:
        state_dict[prefix + key[len(inner):]] = state_dict.pop(key)
