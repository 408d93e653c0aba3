import copy
import logging
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel

from headswap.errors import UserError
from headswap.registry import MODELS
from headswap.structures import HeadSwapDataSample
from headswap.structures.face_labels import HAIR_LABEL, label_lut_tensor
from headswap.structures.pixels import normalize_landmarks
from headswap.structures.pixels import to_uint8 as _to_uint8
from ..blenders.blending_masks import dilate
from .head_over_scene import compose_head_over_scene
from .stage_checkpoints import (checkpoint_stage, load_inference_state,  # noqa: F401
                                load_stage_checkpoint, quiet_random_weight_warnings)

__all__ = ['HeadSwapper', 'checkpoint_stage', 'HAIR_LABEL']

ConfigOrPath = Union[str, dict]


def _resize(img: torch.Tensor, size: int) -> torch.Tensor:
    """Images ``(..., C, H, W)`` -> side ``size`` (antialiased when shrinking)."""
    if img.shape[-1] == size and img.shape[-2] == size:
        return img
    lead = img.shape[:-3]
    x = img.reshape(-1, *img.shape[-3:])
    shrink = x.shape[-1] > size
    x = F.interpolate(x.float(), size=(size, size), mode='bilinear', align_corners=False,
                      antialias=shrink).to(img.dtype)
    return x.view(*lead, *x.shape[-3:])


def _headswap_scope():
    """Build stage parts (their data preprocessors are built by mmengine's BaseModel from
    the root registry) in headswap's scope, without changing the caller's default scope."""
    from mmengine.registry import DefaultScope
    return DefaultScope.overwrite_default_scope('headswap')


def _model_cfg(cfg: ConfigOrPath, what: str) -> dict:
    """The ``model`` dict of a stage config file, or a model dict as given."""
    from mmengine.config import Config, ConfigDict
    if isinstance(cfg, str):
        from headswap.utils.config import load_config
        loaded = load_config(cfg)
        if 'model' not in loaded:
            raise UserError(f'{cfg}: no `model` in this config; {what} must name a stage config')
        return copy.deepcopy(loaded.model.to_dict())
    if isinstance(cfg, (Config, ConfigDict)):
        return copy.deepcopy(cfg.to_dict())
    return copy.deepcopy(dict(cfg))


@MODELS.register_module()
class HeadSwapper(BaseModel):
    """HeSer's two stages composed for inference on aligned head crops.

    ``encode_sources`` (stage-1 portrait + identity code of S, once per subject),
    then per target crop ``swap``: stage 1 animates S in T's pose and expression
    (``Head2HeadAligner.animate`` with the target crop as driver), A's head is
    parsed, composed over T's scene as in training (:func:`compose_head_over_scene`,
    the tensor twin of ``ComposeHeadOverScene``) and blended by stage 2
    (``Head2SceneBlender.generate``).

    Only the inference parts of the stages are kept: discriminators, the stage-1
    VGG and losses are dropped, the stage-2 VGG is cut after the warping's
    deepest layer, and with ``use_ema`` the stage-1 EMA weights of the checkpoint
    replace the raw ones. Each stage checkpoint is checked to be of its stage.

    **Head parsing of I_A** (``head_parsing``). The blender needs A's labels (the
    warping attends per label). ``'parser'``: the generated head is parsed with
    the face parser given to :meth:`swap` (or ``head_parser``); landmark-based
    parsers get the target crop's landmarks, whose pose and expression stage 1
    reproduces. Head labels are then kept only inside the stage-1 head mask
    (dilated by ``mask_dilation``), so the generated background never counts as
    head. ``'mask'``: derived without a parser - inside the stage-1 mask T's
    label where T has a head label, hair elsewhere (the parts where heads differ
    in shape are mostly hair); outside it, no head. ``'auto'``: ``'parser'`` when
    a parser is available, else ``'mask'``.

    **Hair colour** (``hair_color``): ``'target'`` (the paper: the head-colour
    exemplar carries T's hair colour onto A's hair) or ``'source'`` (A's hair
    keeps its own colours in the exemplar, as the warping does for labels T lacks).

    Config keys: ``aligner`` / ``blender`` (stage config file or model dict),
    ``aligner_checkpoint`` / ``blender_checkpoint`` (mmengine checkpoints, loaded
    with ``weights_only=True``; None: random weights, warned), ``resolution``,
    ``use_ema``, ``head_parsing``, ``head_parser``, ``mask_threshold``,
    ``mask_dilation``, ``hole_dilation``, ``fill_blur``, ``hair_color``, ``warping_backend``.

    ``test_step`` input (packed by ``PackHeadSwapInputs``, batched by
    ``HeadSwapDataPreprocessor``): ``source_imgs`` ``(K, 3, h, w)``, ``target_img``
    ``(3, S, S)`` uint8, ``target_parsing`` ``(1, S, S)``, optional
    ``target_landmarks`` ``(68, 2)`` (crop pixels). Output data-sample fields
    (images uint8 ``(3, S, S)``, masks float ``(1, S, S)`` in [0, 1], labels long
    ``(1, S, S)``, docs/en/data_format.md): ``pred_img`` (I_B, the swap),
    ``head_img`` (I_A, stage-1 output), ``head_mask`` (stage-1 mask),
    ``head_parsing``, ``blend_head_img`` (A over T's scene, the blender's input),
    ``head_color_exemplar``, ``inpaint_exemplar``, ``edit_mask``, ``inpaint_mask``,
    ``target_img``, ``gt_img`` (kept when the sample has one, else T),
    ``source_imgs`` ``(K, 3, h, w)``.

    Args:
        aligner: Stage-1 config file (its ``model``) or model dict.
        blender: Stage-2 config file or model dict.
        aligner_checkpoint: Stage-1 checkpoint path/URL, or None.
        blender_checkpoint: Stage-2 checkpoint path/URL, or None.
        resolution: Side S of the target crops and of stage 2; None: stage 1's.
            Stage 1 runs at its own resolution in between (resized).
        use_ema: Use the stage-1 EMA weights of the checkpoint when present.
        head_parsing: ``'auto'``, ``'parser'`` or ``'mask'`` (see above).
        head_parser: A face-parser config (``BaseFaceParser``) for ``'parser'``.
        mask_threshold: Stage-1 mask value above which a pixel is A's head.
        mask_dilation: Dilation of that mask limiting a parser's head labels,
            fraction of the side.
        hole_dilation: ``ComposeHeadOverScene``'s growth of T's head before the fill.
        fill_blur: ``ComposeHeadOverScene``'s blur of the filled hole.
        hair_color: ``'target'`` or ``'source'`` (see above).
        warping_backend: Replaces the blender config's exemplar-warping backend
            (``'dense'``, ``'perlabel'``, ``'blocked'``, ``'flex'``, ``'varlen'``, ``'auto'``); the
            backends give the same result, so any of them runs a checkpoint. ``'flex'``
            (CUDA, FlexAttention) was the fastest measured in bf16 on a GPU but compiles for
            minutes first; ``'varlen'`` (torch's variable-length attention kernels) compiles
            nothing. None keeps the config's.
        data_preprocessor: Defaults to ``HeadSwapDataPreprocessor``.
    """

    def __init__(self, aligner: ConfigOrPath, blender: ConfigOrPath,
                 aligner_checkpoint: Optional[str] = None,
                 blender_checkpoint: Optional[str] = None,
                 resolution: Optional[int] = None, use_ema: bool = True,
                 head_parsing: str = 'auto', head_parser: Optional[dict] = None,
                 mask_threshold: float = 0.5, mask_dilation: float = 0.02,
                 hole_dilation: float = 0.01, fill_blur: float = 0.01,
                 hair_color: str = 'target', warping_backend: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='HeadSwapDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if head_parsing not in ('auto', 'parser', 'mask'):
            raise ValueError(f"head_parsing must be 'auto', 'parser' or 'mask', got "
                             f'{head_parsing!r}')
        if hair_color not in ('target', 'source'):
            raise ValueError(f"hair_color must be 'target' or 'source', got {hair_color!r}")
        self.use_ema = use_ema
        self._warping_backend = warping_backend
        self.aligner = self._build_aligner(_model_cfg(aligner, 'aligner'), aligner_checkpoint)
        self.blender = self._build_blender(_model_cfg(blender, 'blender'), blender_checkpoint)
        self.aligner_resolution = int(self.aligner.resolution)
        self.resolution = int(resolution or self.aligner_resolution)
        self.head_labels = list(self.blender.masks.head_labels)
        self.register_buffer('head_lut', label_lut_tensor(self.head_labels), persistent=False)
        self.head_parsing = head_parsing
        self.head_parser = None
        if head_parser is not None:
            self.head_parser = (MODELS.build(head_parser) if isinstance(head_parser, dict)
                                else head_parser)
        if head_parsing == 'parser' and self.head_parser is None:
            print_log("HeadSwapper: head_parsing='parser' needs a parser; pass one to swap()",
                      logger='current', level=logging.INFO)
        self.mask_threshold = float(mask_threshold)
        self.mask_dilation = float(mask_dilation)
        self.hole_dilation = float(hole_dilation)
        self.fill_blur = float(fill_blur)
        self.hair_color = hair_color
        self.eval()

    # ------------------------------------------------------------------ build
    def _build_aligner(self, cfg: dict, checkpoint: Optional[str]) -> nn.Module:
        if cfg.get('type') not in ('Head2HeadAligner', 'headswap.Head2HeadAligner'):
            raise UserError(f"aligner: expected a Head2HeadAligner model, got type "
                            f"{cfg.get('type')!r}")
        cfg.update(vgg=None, ema=None, init_from_ema=False,
                   losses=dict(gan=cfg.get('losses', {}).get('gan') or dict(type='HingeGANLoss')))
        if isinstance(cfg.get('identity_encoder'), dict):
            cfg['identity_encoder']['checkpoint'] = None  # its weights are in the checkpoint
        with quiet_random_weight_warnings(checkpoint is not None), _headswap_scope():
            model = MODELS.build(cfg)
        model.discriminator = None
        self._load_stage(model, checkpoint, 'aligner')
        return model

    def _build_blender(self, cfg: dict, checkpoint: Optional[str]) -> nn.Module:
        if cfg.get('type') not in ('Head2SceneBlender', 'headswap.Head2SceneBlender'):
            raise UserError(f"blender: expected a Head2SceneBlender model, got type "
                            f"{cfg.get('type')!r}")
        layers = list(cfg.get('warping', {}).get('feature_layers', ('relu3_1', 'relu4_1')))
        if self._warping_backend is not None:  # not a weight: any backend loads any checkpoint
            cfg['warping'] = dict(cfg.get('warping', {}), backend=self._warping_backend)
        cfg['vgg'] = dict(cfg['vgg'], layers=layers, checkpoint=None)  # in the checkpoint
        cfg['perceptual_layers'] = layers
        with quiet_random_weight_warnings(checkpoint is not None), _headswap_scope():
            model = MODELS.build(cfg)
        model.discriminator = None
        self._load_stage(model, checkpoint, 'blender')
        return model

    def _load_stage(self, model: nn.Module, checkpoint: Optional[str], stage: str) -> None:
        load_stage_checkpoint(model, checkpoint, stage, self.use_ema)

    # ---------------------------------------------------------------- forward
    def encode_sources(self, source_imgs: torch.Tensor) -> torch.Tensor:
        """Source code of S: ``(B, K, 3, H, W)`` in [-1, 1] -> ``(B, d1 + d2)``.

        Sources are resized to stage 1's resolution (the frames it was trained on).
        """
        return self.aligner.encode_sources(_resize(source_imgs, self.aligner_resolution))

    def parse_head(self, head_img: torch.Tensor, head_mask: torch.Tensor,
                   target_parsing: torch.Tensor, target_landmarks: Optional[torch.Tensor] = None,
                   head_parser=None) -> torch.Tensor:
        """A's labels ``(B, 1, S, S)`` long (see the class docstring, *Head parsing*)."""
        parser = head_parser if head_parser is not None else self.head_parser
        mode = self.head_parsing
        if mode == 'auto':
            mode = 'parser' if parser is not None else 'mask'
        if mode == 'parser' and parser is None:
            raise UserError("HeadSwapper: head_parsing='parser' but no face parser was given")
        inside = head_mask > self.mask_threshold
        if mode == 'parser' and getattr(parser, 'needs_landmarks', False) \
                and target_landmarks is None:
            mode = 'mask'  # a landmark-based parser cannot run without landmarks
        if mode == 'mask':
            target_head = self.head_lut[target_parsing.clamp(0, 255)]
            hair = torch.full_like(target_parsing, HAIR_LABEL)
            return torch.where(inside, torch.where(target_head, target_parsing, hair),
                               torch.zeros_like(target_parsing))
        labels = parse_tensor(parser, _to_uint8(head_img), target_landmarks)
        labels = labels.to(target_parsing.device).long()[:, None]
        radius = max(1, round(self.mask_dilation * head_img.shape[-1]))
        allowed = dilate(inside.float(), radius) > 0
        is_head = self.head_lut[labels.clamp(0, 255)]
        return torch.where(is_head & ~allowed, torch.zeros_like(labels), labels)

    def animate(self, source_code: torch.Tensor, target_img: torch.Tensor,
                target_landmarks: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stage 1 with T's crops as drivers: I_A ``(B, 3, S, S)`` in [-1, 1] and the head
        mask ``(B, 1, S, S)``. ``source_code`` is ``(1, d)`` or ``(B, d)``;
        ``target_landmarks`` ``(B, 68, 2)`` in crop pixels (needed by a
        landmark-conditioned stage 1)."""
        b, _, s, s2 = target_img.shape
        if s != s2 or s != self.resolution:
            raise UserError(f'target crops are {s}x{s2}; this HeadSwapper works on '
                            f'{self.resolution}x{self.resolution} crops (resolution)')
        code = source_code.expand(b, -1) if source_code.shape[0] == 1 else source_code
        driver = _resize(target_img, self.aligner_resolution)
        lms = None
        if getattr(self.aligner, 'landmark_map', None) is not None:
            if target_landmarks is None:
                raise UserError('this stage-1 model is landmark-conditioned (landmark_map): '
                                'it needs the target crops\' landmarks')
            lms = normalize_landmarks(target_landmarks.to(driver.device), s)
        head_img, head_mask = self.aligner.animate(code.to(driver.dtype), driver,
                                                   driver_landmarks=lms)
        return _resize(head_img, s).clamp(-1, 1), _resize(head_mask, s).float()

    def blend(self, head_img: torch.Tensor, head_parsing: torch.Tensor,
              target_img: torch.Tensor, target_parsing: torch.Tensor,
              hair_color: Optional[str] = None) -> Dict[str, torch.Tensor]:
        """Stage 2: A's head composed over T's scene (as in training), then blended.

        Returns ``pred_img``, ``blend_head_img``, ``head_color_exemplar``,
        ``inpaint_exemplar`` ``(B, 3, S, S)`` and ``edit_mask``, ``inpaint_mask``.
        """
        composed, composed_parsing = compose_head_over_scene(
            head_img, head_parsing, target_img, target_parsing, self.head_lut,
            self.hole_dilation, self.fill_blur)
        hair = hair_color or self.hair_color
        if hair not in ('target', 'source'):
            raise UserError(f"hair_color must be 'target' or 'source', got {hair!r}")
        out = self.blender.generate(
            dict(target_img=target_img, target_parsing=target_parsing, head_img=composed,
                 head_parsing=composed_parsing),
            own_color_labels=(HAIR_LABEL,) if hair == 'source' else ())
        return dict(pred_img=out['pred'], blend_head_img=composed,
                    head_color_exemplar=out['head_color_exemplar'],
                    inpaint_exemplar=out['inpaint_exemplar'], edit_mask=out['edit_mask'],
                    inpaint_mask=out['inpaint_mask'])

    def swap(self, source_code: torch.Tensor, target_img: torch.Tensor,
             target_parsing: torch.Tensor, target_landmarks: Optional[torch.Tensor] = None,
             hair_color: Optional[str] = None, head_parser=None) -> Dict[str, torch.Tensor]:
        """Swap S's head into T's crops: :meth:`animate`, :meth:`parse_head`, :meth:`blend`.

        Args:
            source_code: ``(1, d)`` or ``(B, d)`` from :meth:`encode_sources`.
            target_img: T's aligned crops ``(B, 3, S, S)`` in [-1, 1].
            target_parsing: T's labels ``(B, 1, S, S)`` long.
            target_landmarks: ``(B, 68, 2)`` in crop pixels (for landmark parsers).
            hair_color: ``'target'`` / ``'source'``; None: the configured one.
            head_parser: Face parser for I_A (overrides ``head_parser``).

        Returns:
            ``pred_img`` (I_B), ``head_img`` (I_A), ``blend_head_img`` (A over T's
            scene), ``head_color_exemplar``, ``inpaint_exemplar`` ``(B, 3, S, S)``
            in [-1, 1]; ``head_mask`` (stage 1), ``edit_mask``, ``inpaint_mask``
            ``(B, 1, S, S)`` float; ``head_parsing`` ``(B, 1, S, S)`` long.
        """
        head_img, head_mask = self.animate(source_code, target_img, target_landmarks)
        head_parsing = self.parse_head(head_img, head_mask, target_parsing, target_landmarks,
                                       head_parser)
        out = self.blend(head_img, head_parsing, target_img, target_parsing, hair_color)
        return dict(out, head_img=head_img, head_mask=head_mask, head_parsing=head_parsing)

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[HeadSwapDataSample]] = None,
                mode: str = 'tensor'):
        """``mode='tensor'``: I_B ``(B, 3, S, S)``; ``'predict'``: data samples (see
        the class docstring). ``inputs`` are preprocessed (``HeadSwapDataPreprocessor``)."""
        code = self.encode_sources(inputs['source_imgs'])
        out = self.swap(code, inputs['target_img'], inputs['target_parsing'],
                        inputs.get('target_landmarks'))
        if mode == 'tensor':
            return out['pred_img']
        if mode == 'predict':
            return self._pack(inputs, data_samples, out)
        raise ValueError(f"HeadSwapper.forward supports mode='tensor' and 'predict', not "
                         f'{mode!r} (it is not trained; train the stages)')

    def _pack(self, inputs: dict, data_samples: Optional[list],
              out: Dict[str, torch.Tensor]) -> List[HeadSwapDataSample]:
        batch = out['pred_img'].shape[0]
        samples = list(data_samples) if data_samples else [
            HeadSwapDataSample() for _ in range(batch)]
        images = {k: _to_uint8(out[k]) for k in ('pred_img', 'head_img', 'blend_head_img',
                                                 'head_color_exemplar', 'inpaint_exemplar')}
        images['target_img'] = _to_uint8(inputs['target_img'])
        sources = _to_uint8(inputs['source_imgs'])
        for i, sample in enumerate(samples):
            for key, value in images.items():
                sample.set_field(value[i], key)
            sample.set_field(sources[i], 'source_imgs')
            if sample.get('gt_img') is None:
                sample.set_field(images['target_img'][i], 'gt_img')
            for key in ('head_mask', 'edit_mask', 'inpaint_mask'):
                sample.set_field(out[key][i].float(), key)
            sample.set_field(out['head_parsing'][i], 'head_parsing')
        return samples

    @torch.no_grad()
    def val_step(self, data: dict) -> List[HeadSwapDataSample]:
        data = self.data_preprocessor(data, False)
        return self.forward(data['inputs'], data['data_samples'], mode='predict')

    @torch.no_grad()
    def test_step(self, data: dict) -> List[HeadSwapDataSample]:
        return self.val_step(data)

    def train_step(self, data, optim_wrapper):
        raise UserError('HeadSwapper is an inference model: train the two stages with their '
                        'configs (configs/head2head/, configs/head2scene/)')


def parse_tensor(parser, images: torch.Tensor,
                 landmarks: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Run a face parser on ``(B, 3, H, W)`` uint8 images -> ``(B, H, W)`` labels.

    Parsers with a ``parse_tensor`` method stay on the device; others get numpy
    HxWx3 arrays (a device round trip).
    """
    if hasattr(parser, 'parse_tensor'):
        return parser.parse_tensor(images)
    arrays = list(images.permute(0, 2, 3, 1).cpu().numpy())
    lms = None if landmarks is None else landmarks.detach().float().cpu().numpy()
    return torch.from_numpy(np.asarray(parser.parse(arrays, lms)))
