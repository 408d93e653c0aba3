"""The Head2Head aligner's losses (supplement eqs. 1-5 and the mask loss), as a mixin.

:class:`AlignerLosses` builds ``model.losses`` and computes D_A's hinge loss and the
generator's terms; :class:`~.head2head_aligner.Head2HeadAligner` schedules them (and leaves
the adversarial terms out during ``gan_warmup`` and ramps them in over ``gan_rampup``).
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from ..base_models import build_module as _build

__all__ = ['AlignerLosses', 'ADVERSARIAL_TERMS', 'LOSS_NAMES']

# names of model.losses; each logs as `loss_<name>` (`gan`: `loss_g_adv`, `loss_d_adv`)
LOSS_NAMES = ('l1', 'vgg', 'arcface_fm', 'identity', 'disc_fm', 'gan', 'mask')
# the generator terms that come from D_A (left out of the generator loss during gan_warmup,
# scaled from 0 to 1 over gan_rampup after it)
ADVERSARIAL_TERMS = ('loss_g_adv', 'loss_disc_fm')


class AlignerLosses:
    """Loss construction and evaluation of the aligner (needs ``self.losses``, ``vgg``,
    ``identity_encoder``, ``discriminator``, ``gan_warmup``, ``gan_rampup``,
    ``discriminator_start`` and ``_frozen_discriminator`` from :class:`TwoPlayerGAN`)."""

    def _build_losses(self, cfgs: Dict[str, dict]) -> nn.ModuleDict:
        unknown = sorted(set(cfgs) - set(LOSS_NAMES))
        if unknown:
            raise ValueError(f'unknown losses {unknown} in model.losses; known: '
                             f'{list(LOSS_NAMES)}')
        losses = nn.ModuleDict({k: _build(v) for k, v in cfgs.items() if v is not None})
        if 'gan' not in losses:
            raise ValueError('model.losses needs a `gan` loss (the adversarial terms, eqs. 4-5)')
        if 'vgg' in losses and self.vgg is None:
            raise ValueError('the `vgg` loss needs model.vgg (a VGG19Features config)')
        return losses

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor
                           ) -> Dict[str, torch.Tensor]:
        """Hinge loss of D_A (eq. 4) with one pass over ``[real, fake]``."""
        logits, _ = self.discriminator(torch.cat([real, fake.detach()], dim=0))
        n = real.shape[0]
        real_logits = [x[:n] for x in logits]
        fake_logits = [x[n:] for x in logits]
        loss = self.losses['gan'].discriminator_loss(real_logits, fake_logits)
        return dict(loss_d_adv=loss,
                    d_real=torch.stack([x.detach().float().mean() for x in real_logits]).mean(),
                    d_fake=torch.stack([x.detach().float().mean() for x in fake_logits]).mean())

    def generator_losses(self, real: torch.Tensor, fake: torch.Tensor, fake_mask: torch.Tensor,
                         gt_mask: Optional[torch.Tensor] = None,
                         with_discriminator: bool = True,
                         l1_weight: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Eqs. 1, 2, 3, 5 and the mask loss; D is used as a fixed function.
        ``with_discriminator=False``: the terms that need D_A (``loss_g_adv``,
        ``loss_disc_fm``) are left out, and D_A is not run. ``l1_weight``: ``(B, 1, H, W)``
        per-pixel weights of the L1 term (its weighted mean), or None (its plain mean)."""
        losses = self.losses
        out: Dict[str, torch.Tensor] = {}
        if 'l1' in losses:
            out['loss_l1'] = losses['l1'](fake, real, l1_weight)
        if 'vgg' in losses:
            with torch.no_grad():
                vgg_real = self.vgg(real)
            out['loss_vgg'] = losses['vgg'](self.vgg(fake), vgg_real)
        if 'identity' in losses or 'arcface_fm' in losses:
            with torch.no_grad():
                id_real, feats_real = self.identity_encoder(real, return_features=True)
            id_fake, feats_fake = self.identity_encoder(fake, return_features=True)
            if 'identity' in losses:
                out['loss_identity'] = losses['identity'](id_fake, id_real)
            if 'arcface_fm' in losses:
                out['loss_arcface_fm'] = losses['arcface_fm'](feats_fake, feats_real)
        if with_discriminator:
            with self._frozen_discriminator():
                logits_fake, d_feats_fake = self.discriminator(fake)
                out['loss_g_adv'] = losses['gan'].generator_loss(logits_fake)
                if 'disc_fm' in losses:
                    with torch.no_grad():
                        _, d_feats_real = self.discriminator(real)
                    out['loss_disc_fm'] = losses['disc_fm'](d_feats_fake, d_feats_real)
        if 'mask' in losses and gt_mask is not None:
            out['loss_mask'] = losses['mask'](fake_mask, gt_mask)
        return out

    @staticmethod
    def _iteration() -> int:
        """The Runner's training iteration (kept across resumes)."""
        return int(MessageHub.get_current_instance().get_info('iter', 0))

    def _discriminator_on(self) -> bool:
        """Whether D_A trains and runs at this iteration: from ``discriminator_start`` on."""
        return self.discriminator_start <= 0 or self._iteration() >= self.discriminator_start

    def _adversarial_weight(self) -> float:
        """The factor of the adversarial terms in the generator's loss at this iteration (the
        Runner's count): 0 inside ``gan_warmup``, then rising linearly over ``gan_rampup``
        iterations to 1 (at once when ``gan_rampup`` is 0)."""
        if self.gan_warmup <= 0 and self.gan_rampup <= 0:
            return 1.0
        done = self._iteration() - self.gan_warmup
        if done < 0:
            return 0.0
        return min(1.0, (done + 1) / self.gan_rampup) if self.gan_rampup > 0 else 1.0
