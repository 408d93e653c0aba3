import logging

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from headswap.registry import LOOPS
from ..hooks.rng_state_hook import RNG_INFO_KEY, set_rng_state

__all__ = ['ResumableIterBasedTrainLoop']


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's iteration-based loop with a fast, exact resume.

    On resume, mmengine's loop replays every batch already trained on through
    the data pipeline (hours for a long run). This loop instead asks the
    sampler to skip the indices already consumed, when the sampler supports it
    (:class:`headswap.datasets.samplers.ResumableInfiniteSampler`), and falls
    back to replaying otherwise. Then it restores the random generators saved
    by :class:`headswap.engine.hooks.RNGStateHook`, so the next iteration sees
    the same data and random numbers as in an uninterrupted run.
    """

    def _fast_forward(self) -> None:
        sampler = getattr(self.dataloader, 'sampler', None)
        batch_sampler = getattr(self.dataloader, 'batch_sampler', None)
        if sampler is None or not hasattr(sampler, 'skip'):
            sampler = getattr(batch_sampler, 'sampler', None)
        batch_size = self.dataloader.batch_size or getattr(batch_sampler, 'batch_size', None)
        if sampler is not None and hasattr(sampler, 'skip') and batch_size:
            print_log(f'Resuming at iteration {self._iter}: the sampler skips '
                      f'{self._iter * batch_size} samples already trained on',
                      logger='current')
            sampler.skip(self._iter * batch_size)
            # the iterator made in __init__ may have drawn indices already
            self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        else:
            print_log(f'Advance dataloader {self._iter} steps to skip data that has already '
                      'been trained (use ResumableInfiniteSampler to skip without loading)',
                      logger='current', level=logging.WARNING)
            for _ in range(self._iter):
                next(self.dataloader_iterator)

    def _restore_rng(self) -> None:
        state = self.runner.message_hub.runtime_info.get(RNG_INFO_KEY)
        if state is None:
            return
        self.runner.message_hub.pop_info(RNG_INFO_KEY)
        if self.runner.rank == 0:
            set_rng_state(state)
        else:
            from mmengine.runner import set_random_seed
            seed = (self.runner.seed or 0) + self.runner.rank + self._iter
            set_random_seed(seed)

    def run(self):
        """Launch training."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            self._fast_forward()
            self._restore_rng()
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()

            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)

            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()

        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
