from collections import defaultdict
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage

__all__ = ['ForeachExponentialMovingAverage']


class ForeachExponentialMovingAverage(ExponentialMovingAverage):
    """mmengine's :class:`ExponentialMovingAverage` updated with multi-tensor ops.

    Same formula, state dict and arguments, but one ``torch._foreach_lerp_`` per
    (device, dtype) group instead of one kernel per parameter, and no GPU->host
    sync to read the step counter: a training step of the aligner launches
    ~1,000 fewer kernels, which matters when the step is bound by the host
    (batch 1 per GPU).

    ``gamma``: optional momentum annealing with the formula of mmengine's
    :class:`MomentumAnnealingEMA`, ``max(momentum, gamma / (gamma + steps))``: the
    average follows the weights closely early in training (a checkpoint of iteration
    1,000 is evaluated with weights of about iteration 1,000, not half its random
    start) and settles at ``momentum``. None: a constant ``momentum``.

    ``update_parameters(model, applied)``: whether the optimizer step before it was applied
    (:meth:`TwoPlayerGAN._update`). False: no update at all. A 0-d tensor, 1 or 0, on the
    parameters' device (decided on the device): 0 leaves the average as it was, without a
    GPU->host sync; the step counter advances either way.
    """

    _host_steps: Optional[int] = None

    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: Optional[torch.device] = None, update_buffers: bool = False,
                 gamma: Optional[float] = None) -> None:
        super().__init__(model, momentum=momentum, interval=interval, device=device,
                         update_buffers=update_buffers)
        if gamma is not None and gamma <= 0:
            raise ValueError(f'EMA gamma must be > 0 (or None), got {gamma}')
        self.gamma = gamma

    def momentum_at(self, steps: int) -> float:
        """The momentum of update number ``steps``."""
        if self.gamma is None:
            return self.momentum
        return max(self.momentum, self.gamma / (self.gamma + steps))

    @torch.no_grad()
    def update_parameters(self, model: nn.Module,
                          applied: Union[bool, torch.Tensor] = True) -> None:
        if applied is False:
            return
        if not isinstance(applied, torch.Tensor):
            applied = None
        if self._host_steps is None:  # once: after construction or loading a checkpoint
            self._host_steps = int(self.steps)
        steps = self._host_steps
        if steps == 0 or steps % self.interval == 0:
            src = model.state_dict() if self.update_buffers else dict(model.named_parameters())
            groups = defaultdict(lambda: ([], []))
            for k, p_avg in self.avg_parameters.items():
                if p_avg.dtype.is_floating_point:
                    avg, cur = groups[(p_avg.device, p_avg.dtype)]
                    avg.append(p_avg.data)
                    cur.append(src[k].detach().to(p_avg.device))
            for avg, cur in groups.values():
                if steps == 0:
                    torch._foreach_copy_(avg, cur)
                elif applied is None:
                    torch._foreach_lerp_(avg, cur, self.momentum_at(steps))
                else:  # avg += momentum * applied * (cur - avg), all on the device
                    delta = torch._foreach_sub(cur, avg)
                    torch._foreach_mul_(delta, applied.to(avg[0].device, torch.float32)
                                        * self.momentum_at(steps))
                    torch._foreach_add_(avg, delta)
        if not self.update_buffers:
            pairs = list(zip(self.module.buffers(), model.buffers()))
            if pairs:
                torch._foreach_copy_([a for a, _ in pairs],
                                     [b.to(a.device, a.dtype) for a, b in pairs])
        self.steps += 1
        self._host_steps = steps + 1

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._host_steps = None  # re-read the loaded counter at the next update
