import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from headswap.errors import NonFiniteLossError
from headswap.registry import HOOKS
from .deferred_runtime_info_hook import read_scalars

__all__ = ['NonFiniteLossHook', 'NonFiniteLossError']


def _non_finite(outputs: Optional[dict], prefix: str) -> Dict[str, float]:
    bad = {}
    for key, value in (outputs or {}).items():
        if not key.startswith(prefix):
            continue
        value = float(value.detach().float().mean()) if isinstance(value, torch.Tensor) \
            else float(value)
        if not math.isfinite(value):
            bad[key] = value
    return bad


def _state_is_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values()
               if isinstance(t, torch.Tensor) and t.is_floating_point())


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN/Inf loss, after saving a checkpoint to resume from.

    After every iteration the logged losses (keys starting with ``prefix``)
    are checked; in distributed runs the ranks agree first, so that all stop
    together. On a non-finite loss:

    * if the model's weights are still finite - headswap's GAN models skip an
      update whose gradients are not finite, so the weights are those before
      the bad iteration - a full checkpoint (model, optimizers, schedulers,
      message hub, random state) is written as ``nonfinite_iter_<N>.pth`` and
      recorded as the work dir's latest checkpoint. It is stamped as the end
      of iteration N, so ``tools/train.py CONFIG --resume`` continues with the
      next batch, skipping the one that failed;
    * if the weights themselves are not finite, nothing is saved (it could
      not be resumed) and the message points to the last regular checkpoint.

    Then :class:`NonFiniteLossError` is raised, naming the iteration and the
    loss terms, so the run ends with a non-zero exit status.

    Reading a GPU value makes the host wait for the iteration; with ``interval > 1`` the
    hook only keeps, on the device, which losses were not finite, and reads that every
    ``interval`` iterations: it then stops at the end of the window that had the bad
    value (named ``within iterations A-B``), the checkpoint holds the weights after B
    (the non-finite updates skipped, the others applied), and a non-finite value in the
    last, unfinished window is logged as an error when training ends.

    Args:
        prefix: Which logged values are losses.
        interval: Iterations between two reads (1: after every iteration).
    """

    priority = 'LOW'  # after the logger, so the bad values are logged first

    def __init__(self, prefix: str = 'loss', interval: int = 1):
        if interval < 1:
            raise ValueError(f'NonFiniteLossHook: interval must be >= 1, got {interval}')
        self.prefix, self.interval = prefix, int(interval)
        self._flags: Dict[str, torch.Tensor] = {}  # key -> "was not finite" (device bool)

    def _keep(self, outputs: Optional[dict]) -> None:
        for key, value in (outputs or {}).items():
            if key.startswith(self.prefix):
                bad = torch.logical_not(torch.isfinite(torch.as_tensor(value).detach()).all())
                flag = self._flags.get(key)
                self._flags[key] = bad if flag is None else flag | bad

    def _read(self) -> Dict[str, str]:
        flags, self._flags = self._flags, {}
        read = read_scalars(list(flags.values()))
        return {k: 'not finite' for k, b in zip(flags, read) if b}

    def after_train(self, runner) -> None:
        bad = self._read()
        if bad:
            runner.logger.error(f'non-finite loss within the last {self.interval} iterations '
                                f'of training ({", ".join(bad)}); those updates were skipped')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self.interval == 1:
            bad = _non_finite(outputs, self.prefix)
        else:
            self._keep(outputs)
            if (runner.iter + 1) % self.interval:
                return
            bad = self._read()
        if dist.get_world_size() > 1:
            flag = torch.tensor(float(bool(bad)))
            dist.all_reduce(flag)
            if flag.item() == 0:
                return
            gathered: List[Dict[str, float]] = dist.all_gather_object(bad)
            bad = {f'{k} (rank {r})': v for r, b in enumerate(gathered) for k, v in b.items()}
        elif not bad:
            return

        iteration = runner.iter + 1
        where = (f'iteration {iteration}' if self.interval == 1 else
                 f'iterations {iteration - self.interval + 1}-{iteration}')
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if _state_is_finite(model):
            filename = f'nonfinite_iter_{iteration}.pth'
            runner.save_checkpoint(runner.work_dir, filename, save_optimizer=True,
                                   save_param_scheduler=True, by_epoch=False)
            path = osp.join(runner.work_dir, filename)
            if dist.is_main_process():
                with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                    f.write(path)
            action = (f'saved {path} (weights from before this iteration); to go on, lower the '
                      f'learning rates or loss weights and run tools/train.py with --resume '
                      f'(it continues after the failed batch)')
        else:
            last = runner.message_hub.get_info('last_ckpt')
            action = ('the weights are not finite, so no checkpoint was saved; resume from '
                      f'the last regular checkpoint ({last or "none saved yet"})')
        msg = f'non-finite loss {"at" if self.interval == 1 else "within"} {where}: {terms}; ' \
            f'{action}'
        runner.logger.error(msg)
        raise NonFiniteLossError(msg)
