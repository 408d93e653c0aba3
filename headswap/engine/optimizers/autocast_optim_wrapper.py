from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from headswap.registry import OPTIM_WRAPPERS

__all__ = ['AutocastOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An optimizer wrapper whose forward context runs under ``torch.autocast``.

    For bfloat16, which needs no loss scaling, on GPUs and CPUs alike
    (mmengine's ``AmpOptimWrapper`` refuses CPUs and always scales the loss).
    Parameters and optimizer state stay in float32.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'`` (GPU only; prefer
            mmengine's ``AmpOptimWrapper`` there, it scales the loss).
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(device_type=device_type,
                                                          dtype=self.cast_dtype):
            yield
