"""What both training stages share as two-player GANs (a generator side against ``discriminator``).

:class:`TwoPlayerGAN` is a :class:`mmengine.model.BaseModel` with the scaffolding of an
alternating D step / G step, written once for the Head2HeadAligner (stage 1) and the
Head2SceneBlender (stage 2); each stage keeps its own forward, losses and ``train_step``:

* :meth:`_frozen_discriminator`: D as a fixed function inside a generator step (no weight
  gradients, eval mode so spectral norm does no power iteration), restored afterwards;
* :meth:`_update`: backward and step of one optimizer wrapper; with ``skip_non_finite`` the
  step is skipped (and the gradients dropped) when they are not finite, and the caller learns
  whether it was applied (AMP wrappers skip through their loss scaler). With a fused
  optimizer (``optimizer=dict(type='Adam', fused=True)``) the check stays on the device: the
  optimizer's kernel skips the step itself, as under a ``GradScaler``, and the caller gets a
  0-d tensor instead of a bool, so a training step need not wait for the GPU. Under
  ``GradientSyncDataParallel`` (several GPUs without DDP, for CUDA graphs) it averages the
  gradients over the ranks through ``grad_sync`` before the check, so every rank sees the
  same gradients and skips or steps alike;
* ``val_step`` / ``test_step``: preprocess without augmentation, then ``forward(mode='predict')``
  under ``no_grad``.

Built on mmengine's BaseModel, not mmagic's BaseGAN: the stages' schedules (one shared
generator forward for both updates, CUDA graphs, GAN warm-up) do not fit BaseGAN's loop, and
importing mmagic's models costs ~10 s (docs/en/get_started.md, optional extras).
"""
import contextlib
from typing import Callable, Iterator, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from headswap.registry import MODELS

__all__ = ['TwoPlayerGAN', 'build_module', 'unwrap', 'grads_finite', 'skips_on_device',
           'count_skipped', 'Applied']

#: Whether an update was applied: a bool read on the host, or a 0-d float tensor (1 or 0)
#: on the device when the optimizer skipped a non-finite step itself (:func:`skips_on_device`)
Applied = Union[bool, torch.Tensor]


def build_module(cfg: Optional[Union[dict, nn.Module]]) -> Optional[nn.Module]:
    """A config -> a module from ``MODELS``; a built module (or None) is returned as is."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP-style wrapper (or the module itself)."""
    return module.module if is_model_wrapper(module) else module


def _non_finite_flag(optimizer: torch.optim.Optimizer) -> Optional[torch.Tensor]:
    """0-d float tensor on the gradients' device: 1 where some gradient is not finite (no
    sync); None without gradients."""
    grads = [p.grad for group in optimizer.param_groups for p in group['params']
             if p.grad is not None]
    if not grads:
        return None
    norm = torch.nn.utils.get_total_norm(grads, float('inf'))
    return torch.logical_not(torch.isfinite(norm)).to(torch.float32)


def grads_finite(optimizer: torch.optim.Optimizer) -> bool:
    """Whether every gradient of ``optimizer``'s parameters is finite (one device sync)."""
    flag = _non_finite_flag(optimizer)
    return flag is None or not bool(flag.item())


def skips_on_device(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` can skip a step on a device-side flag (``found_inf``, as
    ``torch.amp.GradScaler`` drives it): torch's fused Adam, AdamW and SGD."""
    return bool(getattr(optimizer, '_step_supports_amp_scaling', False)
                and optimizer.defaults.get('fused'))


def count_skipped(*applied: Applied) -> torch.Tensor:
    """How many of the updates were skipped, as a 0-d float tensor (on the device when one
    was decided there; read without a sync)."""
    flags = [a for a in applied if isinstance(a, torch.Tensor)]
    host = float(sum(not a for a in applied if not isinstance(a, torch.Tensor)))
    if not flags:
        return torch.tensor(host)
    return len(flags) + host - torch.stack(flags).sum()


def take_ema_weights(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load-state-dict pre-hook: the trained modules <- ``ema.module.*`` of the file
    (a model initialised from the EMA weights of a checkpoint)."""
    ema_prefix = f'{prefix}ema.module.'
    ema_keys = [k for k in state_dict if k.startswith(ema_prefix)]
    if not ema_keys:
        return
    for k in ema_keys:
        state_dict[prefix + k[len(ema_prefix):]] = state_dict.pop(k)
    state_dict.pop(f'{prefix}ema.steps', None)


class TwoPlayerGAN(BaseModel):
    """Base of the two training stages: ``self.discriminator`` against a generator side.

    Subclasses set ``self.discriminator`` and implement ``forward`` (``mode='predict'``
    returns data samples) and ``train_step``.
    """

    discriminator: nn.Module
    #: Averages the gradients of the given parameters over the ranks; None (one process, or
    #: DDP-wrapped parts, whose hooks reduce them) costs nothing. Set by
    #: :class:`headswap.engine.model_wrappers.GradientSyncDataParallel`.
    grad_sync: Optional[Callable[[List[nn.Parameter]], None]] = None

    @contextlib.contextmanager
    def _frozen_discriminator(self) -> Iterator[None]:
        """D as a fixed function: no weight gradients, no power-iteration step."""
        disc = unwrap(self.discriminator)
        params = list(disc.parameters())
        flags = [p.requires_grad for p in params]
        was_training = disc.training
        for p in params:
            p.requires_grad_(False)
        disc.train(False)
        try:
            yield
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad_(flag)
            disc.train(was_training)

    def _update(self, wrapper: OptimWrapper, loss: torch.Tensor,
                inspect: Optional[Callable[[], None]] = None,
                skip_non_finite: bool = True) -> Applied:
        """Backward and step; skip the step when the gradients are not finite.

        With ``grad_sync`` set, the gradients of ``wrapper``'s parameters are averaged over
        the ranks right after the backward that completes an update (once per accumulation
        window). ``inspect`` is called between backward and step (gradients are there).
        Returns whether the update was applied (or is still accumulating): a bool, or, when
        the optimizer checks on the device (:func:`skips_on_device`), a 0-d float tensor,
        1 or 0, that nothing waits for. With ``skip_non_finite=False`` and no
        ``grad_sync`` this is ``wrapper.update_params(loss)``.
        """
        wrapper.backward(wrapper.scale_loss(loss))
        updating = wrapper.should_update()
        if self.grad_sync is not None and updating:
            self.grad_sync([p for group in wrapper.optimizer.param_groups
                            for p in group['params']])
        if inspect is not None:
            inspect()
        if not updating:
            return True
        optimizer = wrapper.optimizer
        # an AMP wrapper's loss scaler already skips non-finite steps
        if not skip_non_finite or isinstance(wrapper, AmpOptimWrapper):
            applied: Applied = True
            wrapper.step()
        elif skips_on_device(optimizer):
            found_inf = _non_finite_flag(optimizer)
            optimizer.grad_scale, optimizer.found_inf = None, found_inf
            try:
                wrapper.step()
            finally:
                del optimizer.grad_scale, optimizer.found_inf
            applied = True if found_inf is None else 1 - found_inf
        else:
            applied = grads_finite(optimizer)
            if applied:
                wrapper.step()
        wrapper.zero_grad()
        return applied

    @torch.no_grad()
    def val_step(self, data: Union[dict, tuple, list]) -> list:
        """Preprocess (no augmentation) and predict: data samples with uint8 images."""
        data = self.data_preprocessor(data, False)
        return self.forward(data['inputs'], data.get('data_samples'), mode='predict')

    @torch.no_grad()
    def test_step(self, data: Union[dict, tuple, list]) -> List:
        """As :meth:`val_step`."""
        return self.val_step(data)
