"""Stage checkpoints for inference: what a state dict was trained as, and loading it into the
inference-only stage models of :class:`~headswap.models.swappers.HeadSwapper`."""
import contextlib
import logging
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log

from headswap.errors import CheckpointError

__all__ = ['checkpoint_stage', 'load_inference_state', 'load_stage_checkpoint',
           'quiet_random_weight_warnings']

# keys that identify what a state dict was trained as
_STAGE_KEYS = {
    'aligner': ('generator.', 'mlp.', 'portrait_encoder.'),
    'blender': ('unet.', 'warping.'),
    'swapper': ('aligner.', 'blender.'),
}
_STAGE_NAMES = {
    'aligner': 'a stage-1 Head2HeadAligner checkpoint (configs/head2head/)',
    'blender': 'a stage-2 Head2SceneBlender checkpoint (configs/head2scene/)',
    'swapper': 'a HeadSwapper checkpoint (both stages; load it as the inferencer/test weights)',
}


def checkpoint_stage(state_dict: Dict[str, torch.Tensor]) -> Optional[str]:
    """``'aligner'``, ``'blender'`` or ``'swapper'`` from a state dict's keys; None if unknown."""
    for stage, prefixes in _STAGE_KEYS.items():
        if all(any(k.startswith(p) for k in state_dict) for p in prefixes):
            return stage
    return None


@contextlib.contextmanager
def quiet_random_weight_warnings(quiet: bool) -> Iterator[None]:
    """Silence the frozen networks' 'RANDOM weights' warnings while a stage is built
    whose checkpoint then supplies those weights."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load_stage_checkpoint(model: nn.Module, checkpoint: Optional[str], stage: str,
                          use_ema: bool = True) -> None:
    """Load ``checkpoint`` (of ``stage``: ``'aligner'`` or ``'blender'``) into ``model``; None
    leaves the random weights (with a warning). A file of another stage is refused."""
    if checkpoint is None:
        print_log(f'HeadSwapper: no {stage}_checkpoint, the {stage} runs with RANDOM weights '
                  '(outputs are meaningless; fine for tests and speed measurements)',
                  logger='current', level=logging.WARNING)
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    from headswap.utils.checkpoint import install_checkpoint_loader
    install_checkpoint_loader()
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f'{checkpoint}: not a checkpoint (no state dict)')
    found = checkpoint_stage(state)
    if found != stage:
        what = _STAGE_NAMES.get(found, 'not a headswap stage checkpoint')
        raise CheckpointError(f'{checkpoint}: {stage}_checkpoint needs {_STAGE_NAMES[stage]}, '
                              f'but this file is {what}')
    load_inference_state(model, state, checkpoint, use_ema=use_ema)


def load_inference_state(model: nn.Module, state: Dict[str, torch.Tensor], checkpoint: str,
                         use_ema: bool = True) -> Tuple[List[str], List[str]]:
    """Load a stage's training state dict into its inference-only model.

    Keys the model does not have (discriminators, EMA copies, VGG layers past the
    warping's) are ignored; with ``use_ema`` the ``ema.module.*`` weights replace
    the raw ones they shadow. Missing keys and shape mismatches raise a
    :class:`CheckpointError` naming the file.

    Returns:
        The keys taken from the EMA copy and the ignored keys.
    """
    own = model.state_dict()
    state = dict(state)
    from_ema = []
    if use_ema:
        for k in list(own):
            ema_key = f'ema.module.{k}'
            if ema_key in state:
                state[k] = state[ema_key]
                from_ema.append(k)
    ignored = sorted(set(state) - set(own))
    missing = sorted(set(own) - set(state))
    shapes = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or shapes:
        parts = []
        if missing:
            parts.append(f'missing keys {missing[:5]}{"..." if len(missing) > 5 else ""}')
        if shapes:
            parts.append(f'shape mismatch {shapes[:3]}')
        raise CheckpointError(f'{checkpoint}: does not fit the configured model '
                              f'({"; ".join(parts)}); was it trained with another config?')
    model.load_state_dict({k: state[k] for k in own}, strict=True)
    return from_ema, ignored
