import os.path as osp
import time
from typing import Optional

from mmengine import dist
from mmengine.hooks import Hook

from headswap.registry import HOOKS

__all__ = ['TimeBudgetHook']


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """End training after a wall-clock budget, with a checkpoint to resume from.

    For runs bounded by time rather than iterations (a fixed budget on a lent GPU,
    ``tools/analysis_tools/learning_check.py``, a job slot): the clock starts when
    training starts (start-up, cuDNN autotuning and CUDA-graph recording count). Once
    the budget is spent, after the iteration in progress, a full checkpoint
    ``iter_<N>.pth`` is written and recorded as the work dir's latest, and the loop
    stops; ``tools/train.py CONFIG --resume`` continues from it. In distributed runs
    rank 0 decides and all ranks stop at the same iteration.

    Args:
        seconds: The training budget.
        check_interval: Iterations between two looks at the clock (each look is a
            broadcast in distributed runs).
    """

    priority = 'LOW'

    def __init__(self, seconds: float, check_interval: int = 10):
        if seconds <= 0:
            raise ValueError(f'TimeBudgetHook: seconds must be > 0, got {seconds}')
        self.seconds = float(seconds)
        self.check_interval = max(1, int(check_interval))
        self._start: Optional[float] = None
        #: The iteration training started from (after a resume, the checkpoint's).
        self.start_iter = 0

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        self.start_iter = runner.iter

    def _spent(self) -> bool:
        spent = time.perf_counter() - self._start >= self.seconds
        if dist.get_world_size() > 1:
            flag = [spent]
            dist.broadcast_object_list(flag, src=0)
            spent = flag[0]
        return spent

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if (runner.iter + 1) % self.check_interval or not self._spent():
            return
        filename = f'iter_{runner.iter + 1}.pth'
        runner.save_checkpoint(runner.work_dir, filename, save_optimizer=True,
                               save_param_scheduler=True, by_epoch=False)
        path = osp.join(runner.work_dir, filename)
        runner.message_hub.update_info('last_ckpt', path)
        if dist.is_main_process():
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
        runner.logger.info(f'time budget of {self.seconds:.0f} s spent after iteration '
                           f'{runner.iter + 1}: saved {path}, stopping')
        runner.train_loop.stop_training = True
