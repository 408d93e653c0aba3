from typing import Dict, List, Optional, Sequence

import torch
from mmengine.hooks import LoggerHook, RuntimeInfoHook

from headswap.registry import HOOKS

__all__ = ['DeferredRuntimeInfoHook', 'read_scalars']


def read_scalars(values: Sequence[torch.Tensor]) -> List[float]:
    """One-element tensors as floats, in order, read with one device->host copy per device
    (a GPU read waits for the kernels queued before it: one wait, not one per value)."""
    by_device: Dict[torch.device, List[int]] = {}
    for n, v in enumerate(values):
        by_device.setdefault(v.device, []).append(n)
    out: List[float] = [0.0] * len(values)
    for idx in by_device.values():
        read = torch.stack([values[n].reshape(()).float() for n in idx]).cpu().tolist()
        for n, x in zip(idx, read):
            out[n] = x
    return out


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """mmengine's :class:`RuntimeInfoHook` that reads the logged tensors in batches.

    ``RuntimeInfoHook`` reads every value a ``train_step`` returns with ``.item()`` after
    every iteration. On a GPU the first read waits until the iteration's kernels have run,
    so the host cannot prepare the next iteration (data, augmentation, launches) while
    the GPU works, and the GPU then waits for the host: at one GPU with CUDA graphs the
    host's share of an iteration is no longer hidden. This hook keeps the values as they
    come (detached tensors, on their device) and hands them to the message hub every
    ``interval`` iterations, all read in one copy, in their order, before the
    :class:`LoggerHook` of the same iteration looks at them: the logs and the message
    hub's history are those of ``RuntimeInfoHook``, later by up to ``interval - 1``
    iterations, and when training ends. Host numbers (Python floats) go through at once,
    as before. A checkpoint saved between two reads (``TimeBudgetHook``) lacks the
    values not yet read in its message-hub history (the logged windows of a resumed run).

    Hooks that read ``outputs`` themselves (:class:`NonFiniteLossHook` with its
    ``interval``, :class:`DriverSensitivityHook`) are unaffected.

    Args:
        interval: Iterations between two reads; None takes the ``LoggerHook``'s interval
            (1 without a logger).
    """

    def __init__(self, interval: Optional[int] = None):
        if interval is not None and interval < 1:
            raise ValueError(f'DeferredRuntimeInfoHook: interval must be >= 1, got {interval}')
        self.interval = interval
        self._pending: List[Dict[str, torch.Tensor]] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = int(loggers[0].interval) if loggers else 1
        self._pending = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs:
            deferred = {}
            for key, value in outputs.items():
                if isinstance(value, torch.Tensor) and value.numel() == 1:
                    deferred[key] = value.detach().reshape(())
                else:
                    runner.message_hub.update_scalar(f'train/{key}', value)
            if deferred:
                self._pending.append(deferred)
        if (runner.iter + 1) % self.interval == 0:
            self.flush(runner)

    def flush(self, runner) -> None:
        """Hand every kept value to the message hub (one device->host copy per device)."""
        pending, self._pending = self._pending, []
        keys = [k for log in pending for k in log]
        values = read_scalars([v for log in pending for v in log.values()])
        for key, value in zip(keys, values):
            runner.message_hub.update_scalar(f'train/{key}', value)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)
