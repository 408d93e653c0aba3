import contextlib
import functools
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict

from headswap.registry import MODELS
from headswap.structures import HeadSwapDataSample
from headswap.structures.pixels import to_uint8 as _to_uint8
from ..base_models import TwoPlayerGAN, count_skipped, take_ema_weights
from ..base_models import build_module as _build
from ..base_models import unwrap as _unwrap
from ..layers import ForeachExponentialMovingAverage, resize_maps
from .aligner_losses import ADVERSARIAL_TERMS, AlignerLosses
from .cuda_graphs import GraphedPasses, graphs_usable
from .diagnostics import DriverSensitivityWindow, grad_norms

__all__ = ['Head2HeadAligner']

ModuleCfg = Union[dict, nn.Module]


def _given(driver_landmarks: Optional[torch.Tensor]) -> torch.Tensor:
    if driver_landmarks is None:
        raise ValueError("this aligner is landmark-conditioned (landmark_map): it needs the "
                         "driver's landmarks, (B, 68, 2) in [0, 1] (gt_landmarks in the data)")
    return driver_landmarks


@MODELS.register_module()
class Head2HeadAligner(AlignerLosses, TwoPlayerGAN):
    """Stage 1 of HeSer: reenact K source portraits with a driver's pose and expression.

    ``I_A = G(MLP([E_por(I_S), E_id(I_S), E_pose(aug(D)), E_exp(aug(D))]))``,
    where the portrait and identity embeddings are averaged over the K sources
    and ``aug`` hides the driver's identity (training only). Trained by frame
    reconstruction (D = I_T) with the losses of supplement eqs. 1-5 and a head
    mask loss, alternating one discriminator and one generator update per
    iteration.

    One training iteration:

    1. generator side forward once: ``I_A, M_A`` (kept for both updates);
    2. D step: hinge loss on ``D([I_T, I_A.detach()])`` (one batched pass),
       update D only;
    3. G step: L1, VGG-19 / ArcFace / D feature matching, identity,
       adversarial and mask losses through the just-updated D, whose weights
       are frozen and whose spectral-norm statistics are not advanced (eval
       mode), update the generator side only; then the EMA.

    An update whose gradients are not finite is skipped (the state stays the
    one before the iteration), so that :class:`NonFiniteLossHook` can save a
    checkpoint to resume from. With ``AmpOptimWrapper`` its loss scaler does
    the same.

    Submodules called from ``train_step`` are top-level attributes and only
    their ``forward`` is used, so that ``SeparateDistributedDataParallel``
    can wrap each trainable one; the frozen VGG-19 and ArcFace networks are
    top-level too and are not wrapped.

    Args:
        portrait_encoder: E_por config (d1 = 512).
        identity_encoder: Frozen E_id config (d2 = 512).
        pose_encoder: E_pose config (d3 = 256).
        expression_encoder: E_exp config (d4 = 256).
        generator: Generator config; its ``num_adain_params`` sizes the MLP.
        discriminator: D_A config.
        mlp: AdaIN MLP config; ``in_channels`` and ``out_channels`` are filled
            in from the encoders and the generator when left out.
        vgg: Frozen VGG-19 feature extractor config (needed by the ``vgg`` loss).
        losses: ``{name: loss config}``; names are ``l1``, ``vgg``,
            ``arcface_fm``, ``identity``, ``disc_fm``, ``gan`` (required) and
            ``mask``. Each logs as ``loss_<name>``, except ``gan``, which logs
            ``loss_g_adv`` and ``loss_d_adv``. A None entry disables a loss.
        driver_augmentation: Identity-hiding augmentation of the driver, or
            None.
        pose_augmentation: A random affine applied alike to the driver, the
            target, its mask and the driver's landmarks before ``driver_augmentation``
            (:class:`PoseAugmentation`), or None.
        landmark_map: Rasteriser (:class:`LandmarkHeatmap`) of ``driver_landmarks``
            ``(B, 68, 2)`` in [0, 1] into the generator's spatial condition, or None (the
            paper). Not in the paper: ``docs/en/stage1_learning.md``.
        reconstruct: ``'frame'``: the output is compared with the whole target
            frame (supplement eq. 1 as written). ``'head'``: as in LPD's generator,
            the output is the generated RGB inside the generated head mask over a
            flat ``background``, and the target is the frame inside its parsing
            head mask over the same background; the scene behind the head, which
            stage 2 replaces anyway and which pose and expression cannot predict,
            is not learned. Needs ``gt_mask`` in training.
        background: Value in [-1, 1] of the flat background of ``'head'``.
        l1_landmark_weight: Extra weight of the L1 term (eq. 1) around the target's
            landmarks: each pixel counts ``1 + l1_landmark_weight * m``, ``m`` the largest of
            the ``landmark_map``'s heat maps there (1 on a landmark), over the weights' sum
            (so the loss stays a mean). 0 (the paper): a plain mean. Needs a ``landmark_map``
            and ``driver_landmarks`` (in self-reenactment, the target's). Not in the paper.
        gan_warmup: Training iterations (the Runner's, so resumes keep count) during which
            the generator side is updated by the reconstruction terms only: the
            adversarial and D_A feature-matching terms are computed and logged (from
            ``discriminator_start``) but left out of its loss; D_A trains from
            ``discriminator_start``. 0 (the paper): no warm-up. Not in the paper: see
            ``docs/en/stage1_learning.md``.
        gan_rampup: Iterations after ``gan_warmup`` over which those terms' factor rises
            linearly from 0 to 1, so that G is not handed the full gradient of a D_A that
            has trained alone until then in one step. 0: full weight at once. Not in the
            paper.
        discriminator_start: Training iteration (the Runner's) from which D_A is trained
            and run at all; before it there are no D_A passes (its update, and its two
            forwards in the generator's losses), which saves their time in a run whose
            adversarial terms never enter G's loss. At most ``gan_warmup``. 0 (the paper):
            D_A trains from the start. Not in the paper.
        diagnostics_window: Training samples over which ``driver_sensitivity``
            (the spread of the outputs over the spread of their targets; 0 for one
            face whatever the driver), ``adain_std`` and ``adain_rms`` are logged
            (:class:`DriverSensitivityWindow`); 0 disables them.
        ema: ``ExponentialMovingAverage`` arguments (``momentum``,
            ``interval``) for an EMA copy of the generator side, kept in
            ``self.ema`` (and so in checkpoints), or None.
        test_use_ema: Use the EMA copy in ``val_step``/``test_step``/``forward``.
        init_from_ema: When a checkpoint with EMA weights is loaded into this
            model, initialise the generator side from the EMA weights (for
            fine-tuning from a meta-learned checkpoint). Needs ``ema=None``.
        cuda_graphs: Replay the three passes of a training iteration (generator,
            D loss, G losses; forward and backward) as CUDA graphs recorded on first
            use (see :mod:`headswap.models.aligners.cuda_graphs`). For one-GPU
            training at small batch (few-shot fine-tuning, benchmarks), where the
            iteration is bound by kernel launches. Not with DDP or gradient
            accumulation; on a CPU the flag is ignored with a warning.
        data_preprocessor: Defaults to :class:`Head2HeadDataPreprocessor`; its
            ``resolution`` is set to the generator's.
        init_cfg: mmengine initialisation config.
    """

    generator_modules = ('portrait_encoder', 'pose_encoder', 'expression_encoder', 'mlp',
                         'generator')

    def __init__(self, portrait_encoder: ModuleCfg, identity_encoder: ModuleCfg,
                 pose_encoder: ModuleCfg, expression_encoder: ModuleCfg, generator: ModuleCfg,
                 discriminator: ModuleCfg, mlp: ModuleCfg = dict(type='AdaINMLP'),
                 vgg: Optional[ModuleCfg] = None, losses: Optional[Dict[str, dict]] = None,
                 driver_augmentation: Optional[ModuleCfg] = dict(
                     type='IdentityHidingAugmentation'),
                 pose_augmentation: Optional[ModuleCfg] = None,
                 landmark_map: Optional[ModuleCfg] = None, reconstruct: str = 'frame',
                 background: float = -1.0, l1_landmark_weight: float = 0.0,
                 gan_warmup: int = 0, gan_rampup: int = 0,
                 discriminator_start: int = 0, diagnostics_window: int = 32,
                 ema: Optional[dict] = None, test_use_ema: bool = True,
                 init_from_ema: bool = False, cuda_graphs: bool = False,
                 data_preprocessor: Optional[ModuleCfg] = dict(
                     type='Head2HeadDataPreprocessor'),
                 init_cfg: Optional[dict] = None):
        # built here, not by BaseModel, which looks in mmengine's root registry
        super().__init__(data_preprocessor=_build(data_preprocessor), init_cfg=init_cfg)
        self.portrait_encoder = _build(portrait_encoder)
        self.identity_encoder = _build(identity_encoder)
        self.pose_encoder = _build(pose_encoder)
        self.expression_encoder = _build(expression_encoder)
        self.generator = _build(generator)
        self.mlp = self._build_mlp(mlp)
        self.discriminator = _build(discriminator)
        self.vgg = _build(vgg)
        self.driver_augmentation = _build(driver_augmentation)
        self.pose_augmentation = _build(pose_augmentation)
        self.landmark_map = _build(landmark_map)
        cond = getattr(self.generator, 'cond_channels', 0)
        if (self.landmark_map.num_channels if self.landmark_map else 0) != cond:
            raise ValueError(f'generator.cond_channels={cond} must equal the landmark_map\'s '
                             'channels (0 without a landmark_map)')
        if reconstruct not in ('frame', 'head'):
            raise ValueError(f"reconstruct must be 'frame' or 'head', got {reconstruct!r}")
        if not -1 <= background <= 1:
            raise ValueError(f'background must be in [-1, 1], got {background}')
        self.reconstruct, self.background = reconstruct, float(background)
        if l1_landmark_weight < 0 or (l1_landmark_weight and self.landmark_map is None):
            raise ValueError(f'l1_landmark_weight must be >= 0 and needs a landmark_map (the '
                             f'heat maps it weights by), got {l1_landmark_weight} with '
                             f'landmark_map={landmark_map}')
        self.l1_landmark_weight = float(l1_landmark_weight)
        for name, value in (('gan_warmup', gan_warmup), ('gan_rampup', gan_rampup),
                            ('discriminator_start', discriminator_start)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0 iterations, got {value}')
        if discriminator_start > gan_warmup:
            raise ValueError(f'discriminator_start={discriminator_start} must be <= gan_warmup='
                             f'{gan_warmup}: the adversarial terms would enter the generator\'s '
                             'loss before D_A has trained')
        self.gan_warmup, self.gan_rampup = int(gan_warmup), int(gan_rampup)
        self.discriminator_start = int(discriminator_start)
        self.diagnostics = (DriverSensitivityWindow(diagnostics_window)
                            if diagnostics_window else None)
        self.losses = self._build_losses(losses or {})
        self.resolution = int(self.generator.out_resolution)
        self._check_resolution()

        if init_from_ema and ema is not None:
            raise ValueError('init_from_ema copies EMA weights of a loaded checkpoint into the '
                             'generator side; it needs ema=None (a resumed run with an EMA '
                             'would otherwise lose its raw weights)')
        self.init_from_ema = init_from_ema
        self.test_use_ema = test_use_ema
        self.ema = None
        if ema is not None:
            self.ema = ForeachExponentialMovingAverage(self._generator_side(), **ema)
        if init_from_ema:
            self.register_load_state_dict_pre_hook(take_ema_weights)
        # not a module: the recorded passes are never part of the state dict
        self.cuda_graphs = GraphedPasses() if cuda_graphs else None
        self._warned_cpu_graphs = False

    # ------------------------------------------------------------------ build
    def _build_mlp(self, cfg: ModuleCfg) -> nn.Module:
        if isinstance(cfg, nn.Module):
            return cfg
        cfg = dict(cfg)
        dims = sum(int(m.out_channels) for m in (self.portrait_encoder, self.identity_encoder,
                                                 self.pose_encoder, self.expression_encoder))
        cfg.setdefault('in_channels', dims)
        cfg.setdefault('out_channels', self.generator.num_adain_params)
        if cfg['in_channels'] != dims:
            raise ValueError(f'mlp.in_channels={cfg["in_channels"]} but the four encoders give '
                             f'{dims}-d joint embeddings')
        if cfg['out_channels'] != self.generator.num_adain_params:
            raise ValueError(f'mlp.out_channels={cfg["out_channels"]} but the generator takes '
                             f'{self.generator.num_adain_params} AdaIN parameters')
        return MODELS.build(cfg)

    def _check_resolution(self) -> None:
        pre = self.data_preprocessor
        if hasattr(pre, 'resolution'):
            if pre.resolution is None:
                pre.resolution = self.resolution
            elif pre.resolution != self.resolution:
                raise ValueError(f'data_preprocessor.resolution={pre.resolution} but the '
                                 f'generator makes {self.resolution}x{self.resolution} images')

    def _generator_side(self) -> nn.ModuleDict:
        """The trainable generator-side modules (unwrapped), by name."""
        return nn.ModuleDict({n: _unwrap(getattr(self, n)) for n in self.generator_modules})

    # ---------------------------------------------------------------- forward
    def _module(self, name: str, use_ema: bool) -> nn.Module:
        if use_ema and self.ema is not None:
            return self.ema.module[name]
        return getattr(self, name)

    def encode_sources(self, source_imgs: torch.Tensor, use_ema: bool = False) -> torch.Tensor:
        """Source code ``[E_por, E_id]`` averaged over K: ``(B, K, 3, H, W)`` -> ``(B, d1+d2)``.

        Computed once per subject when animating a video (see :meth:`animate`).
        """
        with torch.no_grad():
            identity = self.identity_encoder(source_imgs)
        portrait = self._module('portrait_encoder', use_ema)(source_imgs)
        return torch.cat([portrait, identity.to(portrait.dtype)], dim=1)

    def animate(self, source_code: torch.Tensor, driver_img: torch.Tensor,
                use_ema: bool = False, augment: bool = True,
                driver_landmarks: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Render the source in the driver's pose and expression.

        Args:
            source_code: ``(B, d1+d2)`` from :meth:`encode_sources`.
            driver_img: ``(B, 3, H, W)`` in [-1, 1]; augmented in training mode.
            use_ema: Use the EMA copy of the generator side.
            augment: Apply ``driver_augmentation`` (it acts in training mode only);
                False when the caller augmented the driver already.
            driver_landmarks: ``(B, 68, 2)`` in [0, 1] of the driver's side; needed
                with a ``landmark_map``, ignored without.

        Returns:
            RGB ``(B, 3, R, R)`` in [-1, 1] (the head over the flat background with
            ``reconstruct='head'``) and head mask ``(B, 1, R, R)``.
        """
        if augment and self.driver_augmentation is not None:
            driver_img = self.driver_augmentation(driver_img)
        img, mask, _ = self._render(source_code, driver_img, use_ema, driver_landmarks)
        return img, mask

    def _render(self, source_code: torch.Tensor, driver_img: torch.Tensor, use_ema: bool,
                driver_landmarks: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """RGB (composited in ``'head'`` mode), mask and the AdaIN parameters."""
        pose = self._module('pose_encoder', use_ema)(driver_img)
        expression = self._module('expression_encoder', use_ema)(driver_img)
        params = self._module('mlp', use_ema)(torch.cat([source_code, pose, expression], dim=1))
        cond = [] if self.landmark_map is None else [self.landmark_map(_given(driver_landmarks))]
        img, mask = self._module('generator', use_ema)(params, *cond)
        if self.reconstruct == 'head':
            img = self.composite(img, mask)
        return img, mask, params

    def composite(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``img`` inside ``mask`` over the flat background: ``(B, 3, H, W)``, ``(B, 1, H, W)``."""
        return torch.lerp(torch.full_like(img, self.background), img, mask.to(img.dtype))

    def reenact(self, source_imgs: torch.Tensor, driver_img: torch.Tensor,
                use_ema: bool = False, driver_landmarks: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, K, 3, H, W)`` sources and ``(B, 3, H, W)`` driver -> RGB and mask."""
        return self.animate(self.encode_sources(source_imgs, use_ema), driver_img, use_ema,
                            driver_landmarks=driver_landmarks)

    def forward(self, inputs: dict, data_samples: Optional[list] = None, mode: str = 'tensor',
                targets: Optional[dict] = None):
        """``mode='tensor'``: (RGB, mask); ``mode='predict'``: data samples.

        ``inputs`` are preprocessed (``source_imgs`` ``(B, K, 3, H, W)`` and
        ``driver_img`` ``(B, 3, H, W)`` in [-1, 1]). Losses come from
        :meth:`train_step` (a GAN alternates two updates), so there is no
        ``'loss'`` mode.
        """
        use_ema = self.test_use_ema and not self.training
        img, mask = self.reenact(inputs['source_imgs'], inputs['driver_img'], use_ema,
                                 inputs.get('driver_landmarks'))
        if mode == 'tensor':
            return img, mask
        if mode == 'predict':
            return self._pack(inputs, data_samples, img, mask)
        raise ValueError(f"Head2HeadAligner.forward supports mode='tensor' and 'predict', not "
                         f'{mode!r}: the losses are computed in train_step')

    def _pack(self, inputs: dict, data_samples: Optional[list], img: torch.Tensor,
              mask: torch.Tensor) -> List[HeadSwapDataSample]:
        samples = list(data_samples) if data_samples else [
            HeadSwapDataSample() for _ in range(img.shape[0])]
        sources = _to_uint8(inputs['source_imgs'])
        driver = _to_uint8(inputs['driver_img'])
        pred = _to_uint8(img)
        for i, sample in enumerate(samples):
            sample.source_imgs = sources[i]
            sample.driver_img = driver[i]
            sample.pred_img = pred[i]
            sample.pred_mask = mask[i].float()
        return samples

    # --------------------------------------------------------------- training
    @contextlib.contextmanager
    def _generator_context(self, wrapper: OptimWrapper) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for name in self.generator_modules:
                stack.enter_context(wrapper.optim_context(getattr(self, name)))
            yield

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, torch.Tensor]:
        data = self.data_preprocessor(data, True)
        inputs, targets = data['inputs'], data['targets']
        if 'gt_img' not in targets:
            raise ValueError('training needs gt_img in every data sample (the target frame)')
        real, gt_mask = targets['gt_img'], targets.get('gt_mask')
        sources, driver = inputs['source_imgs'], inputs['driver_img']
        lms = () if self.landmark_map is None else (_given(inputs.get('driver_landmarks')), )
        if self.reconstruct == 'head':
            if gt_mask is None:
                raise ValueError("reconstruct='head' needs gt_mask in every training sample "
                                 '(load the parsing maps: LoadHead2HeadFrames(with_parsing=True))')
        if self.pose_augmentation is not None:  # driver, target, mask, landmarks moved alike
            driver, real, gt_mask, *lms = self.pose_augmentation(
                driver, real, gt_mask, **(dict(points=lms[0]) if lms else {}))
            lms = tuple(lms)
        if self.reconstruct == 'head':
            real = self.composite(real, gt_mask)
        g_wrapper, d_wrapper = optim_wrapper['generator'], optim_wrapper['discriminator']
        graphs = self.cuda_graphs if graphs_usable(self, real, g_wrapper, d_wrapper) else None

        with self._generator_context(g_wrapper):
            if self.driver_augmentation is not None:  # host-side randomness: never graphed
                driver = self.driver_augmentation(driver)
            fake, fake_mask, adain_params = self._run_pass(
                graphs, 'generator', self._generator_pass,
                {n: getattr(self, n) for n in (*self.generator_modules, 'identity_encoder')},
                sources, driver, *lms)

        d_on = self._discriminator_on()
        d_out: Dict[str, torch.Tensor] = {}
        d_applied = True  # nothing to skip while D_A is off
        if d_on:
            with d_wrapper.optim_context(self.discriminator):
                d_out = self._run_pass(graphs, 'discriminator', self.discriminator_loss,
                                       dict(discriminator=self.discriminator), real,
                                       fake.detach())
            d_applied = self._update(d_wrapper, d_out['loss_d_adv'])

        # the optional tensors of generator_losses, by name (a graphed pass takes tensors)
        optional = {k: v for k, v in (('gt_mask', gt_mask),
                                      ('l1_weight', self._l1_weight(lms, real))) if v is not None}
        with self._generator_context(g_wrapper):
            # D is a fixed function here: left out of the modules, so no weight grads
            g_out = self._run_pass(
                graphs, '_'.join(['generator_losses', *(() if d_on else ('without_d', )),
                                  *(('l1_weight', ) if 'l1_weight' in optional else ())]),
                functools.partial(self._named_generator_losses, tuple(optional), d_on),
                {n: getattr(self, n) for n in ('vgg', 'identity_encoder')
                 if getattr(self, n) is not None},
                real, fake, fake_mask, *optional.values())
            adv = self._adversarial_weight()
            # the adversarial terms: left out at 0, scaled inside the ramp, as they are at 1
            g_loss = sum(v * adv if k in ADVERSARIAL_TERMS and adv < 1 else v
                         for k, v in g_out.items() if adv > 0 or k not in ADVERSARIAL_TERMS)
        norms: Dict[str, torch.Tensor] = {}
        g_applied = self._update(g_wrapper, g_loss,
                                 None if self.diagnostics is None else
                                 lambda: norms.update(grad_norms(self, self.generator_modules)))

        if self.ema is not None:  # not when skipped (on the host, or masked on the device)
            self.ema.update_parameters(self._generator_side(), applied=g_applied)

        # graph outputs are buffers the next replay overwrites: hand out copies
        log = {k: v.detach() if graphs is None else v.detach().clone()
               for k, v in {**g_out, **d_out}.items()}
        log['skipped_updates'] = count_skipped(d_applied, g_applied)
        if self.diagnostics is not None:
            # copies: graph outputs are overwritten by the next replay
            self.diagnostics.add(fake, real, adain_params.to(torch.float32, copy=True))
            log.update(self.diagnostics.stats())
            log.update(norms)
        if graphs is not None:  # a count that keeps growing means shapes keep changing
            log['cuda_graph_recordings'] = torch.tensor(float(graphs.recordings))
        return log

    def _named_generator_losses(self, names: Tuple[str, ...], with_discriminator: bool,
                                real: torch.Tensor, fake: torch.Tensor, fake_mask: torch.Tensor,
                                *optional: torch.Tensor) -> Dict[str, torch.Tensor]:
        """:meth:`generator_losses` with its optional tensors passed in the order of
        ``names``."""
        return self.generator_losses(real, fake, fake_mask, with_discriminator=with_discriminator,
                                     **dict(zip(names, optional)))

    def _l1_weight(self, lms: tuple, real: torch.Tensor) -> Optional[torch.Tensor]:
        """``(B, 1, H, W)`` per-pixel weights of the L1 term, or None (``l1_landmark_weight``
        0): 1 plus the weight times the largest heat map of the landmarks ``lms``."""
        if not self.l1_landmark_weight:
            return None
        if not lms:
            raise ValueError('l1_landmark_weight needs driver_landmarks in every training sample')
        heat = self.landmark_map(lms[0]).amax(dim=1, keepdim=True)
        heat = resize_maps(heat, real.shape[-2:])
        return (1.0 + self.l1_landmark_weight * heat).to(real.dtype)

    @staticmethod
    def _run_pass(graphs: Optional[GraphedPasses], name: str, fn, modules: Dict[str, nn.Module],
                  *args: torch.Tensor):
        """``fn(*args)``, replayed as a CUDA graph when ``graphs`` is given.

        ``modules``: the modules whose parameters may get gradients from ``fn``.
        """
        return fn(*args) if graphs is None else graphs.run(name, fn, modules, args)

    def _generator_pass(self, sources: torch.Tensor, driver: torch.Tensor,
                        driver_landmarks: Optional[torch.Tensor] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The generator side on an already augmented driver (the graphed pass):
        RGB, mask and the (detached) AdaIN parameters."""
        img, mask, params = self._render(self.encode_sources(sources), driver, False,
                                         driver_landmarks)
        return img, mask, params.detach()
