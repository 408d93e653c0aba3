import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from headswap.registry import HOOKS

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']

RNG_INFO_KEY = 'resumed_rng_state'


def get_rng_state() -> dict:
    """The state of every random generator a training step may use.

    All values are tensors or plain Python objects, so the state loads with
    ``torch.load(weights_only=True)``.
    """
    np_state = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=np_state[0], keys=torch.from_numpy(np_state[1].astype(np.int64)),
                   pos=int(np_state[2]), has_gauss=int(np_state[3]),
                   cached_gaussian=float(np_state[4])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`.

    The tensors may have been loaded onto a GPU (the Runner maps checkpoints to
    the current device); generator states are always read back from the CPU.
    """
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state['numpy']
    np.random.set_state((npst['kind'], npst['keys'].cpu().numpy().astype(np.uint32), npst['pos'],
                         npst['has_gauss'], npst['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state['cuda']]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators' state in checkpoints and restore it on resume.

    With it, a resumed run draws the same random numbers (augmentations, noise,
    dropout) as an uninterrupted one. The state is written under
    ``checkpoint['rng_state']``; on resume it is kept in the message hub and
    applied by :class:`headswap.engine.ResumableIterBasedTrainLoop` after the
    data stream was fast-forwarded, right before the next iteration draws.

    In distributed runs the checkpoint is written by rank 0 only; other ranks
    restart their generators from ``seed + rank + iteration`` (documented
    limitation: their augmentations after a resume differ from an
    uninterrupted run).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state: Optional[dict] = checkpoint.get('rng_state')
        if state is not None:
            runner.message_hub.update_info(RNG_INFO_KEY, state)
