from typing import Dict, List, Union

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from headswap.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['MultiOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """One optimizer wrapper per named part of a GAN, as an OptimWrapperDict.

    Each key of the config names a part; its value is an ordinary optimizer
    wrapper config (``type``, ``optimizer``, optional ``paramwise_cfg``) plus an
    optional ``modules`` entry listing the model's top-level submodules the
    part optimises (default: the submodule called like the key). For example
    the aligner's generator side is several submodules::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)),
                           modules=['portrait_encoder', 'pose_encoder', 'generator']),
            discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.999))))

    Frozen submodules simply are not listed. Every trainable parameter must
    belong to exactly one part; a parameter in two parts is an error.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError('optim_wrapper_cfg should be a dict')
        if paramwise_cfg is not None:
            raise ValueError('give paramwise_cfg inside each part of optim_wrapper')
        self.cfgs: Dict[str, dict] = {}
        self.modules: Dict[str, List[str]] = {}
        for key, cfg in optim_wrapper_cfg.items():
            cfg = dict(cfg)
            modules: Union[str, List[str]] = cfg.pop('modules', key)
            self.modules[key] = [modules] if isinstance(modules, str) else list(modules)
            self.cfgs[key] = cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        owner: Dict[int, str] = {}
        for key, cfg in self.cfgs.items():
            parts = nn.ModuleDict()
            for name in self.modules[key]:
                sub = getattr(model, name, None)
                if not isinstance(sub, nn.Module):
                    raise KeyError(f'optim_wrapper.{key}: the model has no submodule {name!r}')
                parts[name] = sub.module if is_model_wrapper(sub) else sub
            for p in parts.parameters():
                if p.requires_grad:
                    if id(p) in owner and owner[id(p)] != key:
                        raise ValueError(f'a parameter is optimised by both {owner[id(p)]!r} '
                                         f'and {key!r}')
                    owner[id(p)] = key
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise)(parts)
        return OptimWrapperDict(**wrappers)
