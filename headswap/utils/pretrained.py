"""Frozen, pretrained helper networks: loading their weights and keeping them frozen."""
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log

from headswap.errors import CheckpointError, MissingCheckpointError
from headswap.utils.checkpoint import load_weights

__all__ = ['FrozenModule', 'load_pretrained']


def load_pretrained(module: nn.Module, checkpoint: Optional[str], name: str,
                    key_map: Optional[Callable[[Dict[str, torch.Tensor]],
                                               Dict[str, torch.Tensor]]] = None,
                    ignore_prefixes: tuple = (), key: Optional[str] = None) -> None:
    """Load third-party weights into ``module`` key-for-key, or warn and keep random weights.

    Args:
        module: The network.
        checkpoint: Local path or URL of the weights (``weights_only`` load),
            or None to run with random weights (tests, ablations) - a warning is
            logged because results are then meaningless.
        name: What the network is, for messages (e.g. ``'VGG-19'``).
        key_map: Optional function mapping the file's state dict to the
            module's key layout.
        ignore_prefixes: Keys of the file starting with these are dropped
            (e.g. a classifier head the module does not have).
        key: Sub-dict of the file holding the state dict (see ``load_weights``).

    Raises:
        CheckpointError: Missing or unexpected keys, or shape mismatches, each
            listed with the file name.
    """
    if checkpoint is None:
        print_log(f'{name}: no checkpoint given, running with RANDOM weights; losses and '
                  'metrics using it are not meaningful (fine for tests)',
                  logger='current', level=30)
        return
    try:
        state = load_weights(checkpoint, key=key)
    except MissingCheckpointError:
        raise CheckpointError(
            f'{checkpoint}: no such weights file for the {name} (nothing is downloaded): put '
            f'the file there, point the `checkpoint` of the {name} in the config at it '
            '(--cfg-options ...checkpoint=PATH), or set it to None for random weights, with '
            'which the losses and metrics that use it mean little (the README beside the '
            'config names the files)') from None
    if key_map is not None:
        state = key_map(state)
    state = {k: v for k, v in state.items() if not k.startswith(tuple(ignore_prefixes))}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f'missing keys {missing[:5]}{"..." if len(missing) > 5 else ""}')
        if unexpected:
            parts.append(f'unexpected keys {unexpected[:5]}'
                         f'{"..." if len(unexpected) > 5 else ""}')
        if shapes:
            parts.append(f'shape mismatch {shapes[:3]}')
        raise CheckpointError(f'{checkpoint}: does not fit {name} ({"; ".join(parts)}); is it '
                              f'the right file? see tools/model_converters/')
    module.load_state_dict(state, strict=True)


class FrozenModule(nn.Module):
    """A network that is never trained: no gradients to its weights, always in eval mode.

    Subclasses build their layers, then call :meth:`freeze`. Gradients still flow
    through it to its inputs (needed by perceptual and identity losses).
    """

    def freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> 'FrozenModule':
        """Stays in eval mode whatever ``mode`` is."""
        return super().train(False)
