from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict

from headswap.registry import MODELS
from headswap.structures import HeadSwapDataSample
from headswap.structures.pixels import to_uint8 as _to_uint8
from ..base_models import TwoPlayerGAN
from ..base_models import build_module as _build
from ..base_models import unwrap as _unwrap
from ..layers import warm_up_spectral_norm

__all__ = ['Head2SceneBlender']

ModuleOrCfg = Union[nn.Module, dict]


@MODELS.register_module()
class Head2SceneBlender(TwoPlayerGAN):
    """Stage 2 of HeSer: blend the animated head I_A into the target scene I_T.

    1. Masks from the parsing maps (:class:`BlendingMasks`): A's head M^H_A,
       the edited region (both heads, dilated) and the inpainting mask M^I_A.
    2. Semantic-guided exemplar warping (:class:`SemanticExemplarWarping`) of
       I_T onto A's layout, from frozen VGG-19 features: its part on A's head is
       the head-colour exemplar, its part on M^I_A the inpainting exemplar.
    3. The blending UNet sees A's head, both exemplars, T outside the edited
       region and the two masks, and paints the edited region; outside it the
       output I_B is T's pixels.

    Training is reconstruction (SPEC section 3): I_A is synthesised from I_T
    by the dataset (``PerturbHeadShape``, ``ShiftHeadColor``), so I_T is the
    ground truth. Generator losses (supplement eqs. 6-9, 11): ``loss_perceptual``
    (VGG-19 feature matching), ``loss_l1``, ``loss_cycle`` (T -> A -> T),
    ``loss_cycle_other`` (T' -> A -> T', another frame), ``loss_gan_g``; the
    discriminator D_B (``loss_gan_d``, eq. 10) sees images concatenated with
    M^H_A and M^I_A. One optimizer step each per iteration.

    Eq. 9 writes ``|I_{T'->A->T'} - I_T|``; ``I_{T'->A->T'}`` lies on T''s pixel
    grid, so by default (``cycle_other_target='other'``) it is compared with
    I_T'; ``'target'`` follows the formula literally.

    Args:
        vgg: Frozen VGG-19 (:class:`VGG19Features`) returning at least the
            perceptual layers and the warping's ``feature_layers``.
        warping: :class:`SemanticExemplarWarping` config; ``in_channels`` is
            filled from the VGG when left out.
        unet: :class:`BlendingUNet` config (``in_channels`` 14).
        discriminator: :class:`MaskConditionedDiscriminator` config.
        masks: :class:`BlendingMasks` config (holds ``head_labels``).
        loss_perceptual: Feature matching over ``perceptual_layers`` (eq. 6).
        loss_l1: L1 between I_B and I_T (eq. 7).
        loss_cycle: Cycle loss (eqs. 8-9), used for both cycle terms.
        loss_gan: Hinge loss (eqs. 10-11).
        perceptual_layers: VGG layers of the perceptual loss.
        cycle_other_target: ``'other'`` or ``'target'`` (see above).
        data_preprocessor: :class:`Head2SceneDataPreprocessor` config.
        init_cfg: mmengine init config.
    """

    def __init__(self, vgg: ModuleOrCfg, warping: ModuleOrCfg, unet: ModuleOrCfg,
                 discriminator: ModuleOrCfg, masks: ModuleOrCfg, loss_perceptual: ModuleOrCfg,
                 loss_l1: ModuleOrCfg, loss_cycle: ModuleOrCfg, loss_gan: ModuleOrCfg,
                 perceptual_layers: Sequence[str] = ('relu1_1', 'relu2_1', 'relu3_1',
                                                     'relu4_1', 'relu5_1'),
                 cycle_other_target: str = 'other',
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if cycle_other_target not in ('other', 'target'):
            raise ValueError(f"cycle_other_target must be 'other' or 'target', got "
                             f'{cycle_other_target!r}')
        self.vgg = _build(vgg)  # frozen, top level: not wrapped by DDP, not optimised
        vgg_layers = list(self.vgg.layer_names)
        if isinstance(warping, dict) and warping.get('in_channels') is None:
            layers = warping.get('feature_layers', ('relu3_1', 'relu4_1'))
            missing = [n for n in layers if n not in vgg_layers]
            if missing:
                raise ValueError(f'warping.feature_layers {missing} are not among the VGG '
                                 f'layers {vgg_layers}')
            warping = dict(warping, in_channels=[
                self.vgg.out_channels[vgg_layers.index(n)] for n in layers])
        self.warping = _build(warping)
        self.unet = _build(unet)
        self.discriminator = _build(discriminator)
        self.masks = _build(masks)
        self.loss_perceptual = _build(loss_perceptual)
        self.loss_l1 = _build(loss_l1)
        self.loss_cycle = _build(loss_cycle)
        self.loss_gan = _build(loss_gan)
        self.perceptual_layers = list(perceptual_layers)
        missing = [n for n in (*self.perceptual_layers, *self.warping.feature_layers)
                   if n not in vgg_layers]
        if missing:
            raise ValueError(f'layers {missing} are used (perceptual_layers, '
                             f'warping.feature_layers) but the VGG returns only {vgg_layers}')
        self.cycle_other_target = cycle_other_target
        self._warm_up_spectral_norm()

    def _warm_up_spectral_norm(self) -> None:
        for name in ('warping', 'unet', 'discriminator'):
            warm_up_spectral_norm(getattr(self, name))

    def init_weights(self) -> None:
        """mmengine's initialisation, then fresh spectral-norm vectors for the new weights."""
        super().init_weights()
        self._warm_up_spectral_norm()

    # ------------------------------------------------------------------ forward
    def _features(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        return dict(zip(self.vgg.layer_names, self.vgg(img)))

    def generate(self, inputs: Dict[str, torch.Tensor], with_cycle: bool = False,
                 own_color_labels: Sequence[int] = ()) -> Dict[str, torch.Tensor]:
        """Blend A into T.

        Args:
            inputs: Normalised batch from :class:`Head2SceneDataPreprocessor`:
                ``target_img``/``head_img`` ``(B, 3, H, W)`` in [-1, 1],
                ``target_parsing``/``head_parsing`` ``(B, 1, H, W)`` long, and for
                ``with_cycle`` optionally ``other_img``/``other_parsing``.
            with_cycle: Also compute the cycled exemplars for the cycle losses.
            own_color_labels: Labels of A whose head-colour exemplar is A's own
                pixels instead of T's warped colours - what the warping does for
                labels T lacks (inference option, e.g. the hair to keep the
                source's hair colour).

        Returns:
            ``pred`` (I_B), ``head_color_exemplar``, ``inpaint_exemplar``
            (``(B, 3, H, W)``, 0 outside their masks), the masks ``(B, 1, H, W)``,
            ``target_feats`` (VGG features of I_T by layer name) and with
            ``with_cycle`` ``cycle``/``cycle_weight`` (and ``cycle_other``/
            ``cycle_other_weight`` when I_T' is given) on the warping grid.
        """
        img_t, lab_t = inputs['target_img'], inputs['target_parsing']
        img_a, lab_a = inputs['head_img'], inputs['head_parsing']
        batch = img_t.shape[0]
        masks = self.masks(lab_a, lab_t)
        head, inpaint, edit = masks['head_mask'], masks['inpaint_mask'], masks['edit_mask']

        feats_t, feats_a = self._features(img_t), self._features(img_a)
        refs = [(img_t, lab_t, feats_t)]
        if with_cycle and 'other_img' in inputs:
            refs.append((inputs['other_img'], inputs['other_parsing'],
                         self._features(inputs['other_img'])))
        n = len(refs)
        # one warping call for T and T' (one DDP forward), A repeated along the batch
        layers = _unwrap(self.warping).feature_layers
        warp = self.warping(
            [torch.cat([feats_a[name]] * n) for name in layers],
            [torch.cat([r[2][name] for r in refs]) for name in layers],
            torch.cat([lab_a] * n), torch.cat([r[1] for r in refs]),
            torch.cat([r[0] for r in refs]), values_a=torch.cat([img_a] * n))
        exemplar = warp.image[:batch].to(img_t.dtype)
        if len(own_color_labels):
            lut = torch.zeros(256, dtype=torch.bool, device=lab_a.device)
            lut[torch.as_tensor([int(x) for x in own_color_labels], device=lab_a.device)] = True
            exemplar = torch.where(lut[lab_a.clamp(0, 255)], img_a.to(exemplar.dtype), exemplar)
        head_ex, inpaint_ex = exemplar * head, exemplar * inpaint
        unet_in = torch.cat([img_a * head, head_ex, inpaint_ex, img_t * (1 - edit), head, inpaint],
                            1)
        pred = edit * self.unet(unet_in) + (1 - edit) * img_t
        out = dict(pred=pred, head_color_exemplar=head_ex, inpaint_exemplar=inpaint_ex,
                   target_feats=feats_t, **masks)
        if with_cycle:
            # the forward validity travels along, so pixels fed by a fallback weigh less
            back, valid = _unwrap(self.warping).warp_back(warp, torch.cat([warp.grid, warp.valid],
                                                                          1))
            weight = valid * back[:, -1:]
            # T's head pixels outside A's head have no counterpart in A (in training: the
            # band PerturbHeadMask added to T's head, whose pixels are scene): not cycled
            orphan = inpaint * masks['target_head_mask']
            factor = _unwrap(self.warping).downsample
            orphan = F.max_pool2d(orphan, factor) if factor > 1 else orphan
            out['cycle'] = back[:batch, :-1]
            out['cycle_weight'] = weight[:batch] * (1 - orphan)
            if n == 2:
                out['cycle_other'], out['cycle_other_weight'] = back[batch:, :-1], weight[batch:]
        return out

    def _condition(self, out: Dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([out['head_mask'], out['inpaint_mask']], 1)

    # ------------------------------------------------------------------ training
    def discriminator_losses(self, inputs: Dict[str, torch.Tensor],
                             out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Hinge loss of D_B on I_T (real) and the detached I_B (fake), eq. 10."""
        batch = inputs['target_img'].shape[0]
        cond = self._condition(out)
        logits = self.discriminator(torch.cat([inputs['target_img'], out['pred'].detach()]),
                                    torch.cat([cond, cond]))
        real, fake = [x[:batch] for x in logits], [x[batch:] for x in logits]
        return dict(loss_gan_d=self.loss_gan.discriminator_loss(real, fake),
                    d_real=torch.stack([r.detach().mean() for r in real]).mean(),
                    d_fake=torch.stack([f.detach().mean() for f in fake]).mean())

    def generator_losses(self, inputs: Dict[str, torch.Tensor],
                         out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Losses of the warping and the UNet (eqs. 6-9 and 11).

        D_B is run frozen and in eval mode (no gradient to its weights, no
        spectral-norm power iteration): a generator step leaves it untouched.
        """
        pred, img_t = out['pred'], inputs['target_img']
        feats_pred = self._features(pred)
        losses = dict(
            loss_perceptual=self.loss_perceptual(
                [feats_pred[n] for n in self.perceptual_layers],
                [out['target_feats'][n] for n in self.perceptual_layers]),
            loss_l1=self.loss_l1(pred, img_t))
        if 'cycle' in out:
            losses['loss_cycle'] = self.loss_cycle(out['cycle'], img_t, out['cycle_weight'])
        if 'cycle_other' in out:
            target = inputs['other_img'] if self.cycle_other_target == 'other' else img_t
            losses['loss_cycle_other'] = self.loss_cycle(out['cycle_other'], target,
                                                         out['cycle_other_weight'])
        with self._frozen_discriminator():
            disc = _unwrap(self.discriminator)
            losses['loss_gan_g'] = self.loss_gan.generator_loss(disc(pred, self._condition(out)))
        return losses

    def train_discriminator(self, inputs: Dict[str, torch.Tensor], out: Dict[str, torch.Tensor],
                            optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """One D_B step; ``out['pred']`` is detached, the generator is not touched."""
        with optim_wrapper.optim_context(self.discriminator):
            losses = self.discriminator_losses(inputs, out)
        self._update(optim_wrapper, losses['loss_gan_d'], skip_non_finite=False)
        return {k: v.detach() for k, v in losses.items()}

    def train_generator(self, inputs: Dict[str, torch.Tensor], out: Dict[str, torch.Tensor],
                        optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """One step of the warping projections and the UNet from ``out`` (with its graph)."""
        with optim_wrapper.optim_context(self.unet):
            losses = self.generator_losses(inputs, out)
        self._update(optim_wrapper, sum(losses.values()), skip_non_finite=False)
        return {k: v.detach() for k, v in losses.items()}

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """Generator forward once, then a D_B step on its detached output, then a G step."""
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        if 'other_img' not in inputs:
            raise ValueError('training the Head2SceneBlender needs other_img/other_parsing '
                             '(I_T\', another frame of the video, for the cycle loss of eq. 9)')
        with optim_wrapper['generator'].optim_context(self.unet):
            out = self.generate(inputs, with_cycle=True)
        log_vars = self.train_discriminator(inputs, out, optim_wrapper['discriminator'])
        log_vars.update(self.train_generator(inputs, out, optim_wrapper['generator']))
        return log_vars

    # ------------------------------------------------------------------ inference
    def _pack(self, data: dict, out: Dict[str, torch.Tensor]) -> List[HeadSwapDataSample]:
        inputs = data['inputs']
        batch = inputs['target_img'].shape[0]
        samples = data.get('data_samples') or [HeadSwapDataSample() for _ in range(batch)]
        black = torch.full_like(out['pred'], -1.0)
        head_ex = torch.where(out['head_mask'] > 0, out['head_color_exemplar'], black)
        inpaint_ex = torch.where(out['inpaint_mask'] > 0, out['inpaint_exemplar'], black)
        images = dict(target_img=_to_uint8(inputs['target_img']),
                      head_img=_to_uint8(inputs['head_img']),
                      head_color_exemplar=_to_uint8(head_ex),
                      inpaint_exemplar=_to_uint8(inpaint_ex),
                      pred_img=_to_uint8(out['pred']))
        for i, sample in enumerate(samples):
            for key, value in images.items():
                sample.set_field(value[i], key)
            if sample.get('gt_img') is None:
                sample.set_field(images['target_img'][i], 'gt_img')
            sample.set_field(out['head_mask'][i].float(), 'head_mask')
            sample.set_field(out['inpaint_mask'][i].float(), 'inpaint_mask')
        return list(samples)

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[HeadSwapDataSample]] = None,
                mode: str = 'tensor') -> Union[torch.Tensor, Dict[str, torch.Tensor],
                                               List[HeadSwapDataSample]]:
        """``inputs`` is the preprocessed dict.

        ``mode='tensor'``: I_B ``(B, 3, H, W)`` in [-1, 1]; ``'predict'``: data
        samples as :meth:`test_step`; ``'loss'``: the generator losses (with the
        cycle terms when I_T' is given), without any update.
        """
        if mode == 'tensor':
            return self.generate(inputs)['pred']
        if mode == 'predict':
            return self._pack(dict(inputs=inputs, data_samples=data_samples),
                              self.generate(inputs))
        if mode == 'loss':
            return self.generator_losses(inputs, self.generate(inputs, with_cycle=True))
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")
