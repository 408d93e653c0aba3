from typing import Optional, Sequence

import numpy as np
import torch

from headswap.registry import MODELS
from headswap.utils.openmmlab_scope import load_openmmlab_config, resolve_device
from headswap.utils.pretrained import load_pretrained
from .base_face_analysis import BaseFaceParser

__all__ = ['MMSegFaceParser']

DEFAULT_PARSER_CONFIG = 'configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py'


@MODELS.register_module()
class MMSegFaceParser(BaseFaceParser):
    """A trained mmseg face parser (19 CelebAMask-HQ labels), batched on GPU when present.

    Default: the BiSeNet of ``configs/face_parsing/`` with weights converted
    from the public face-parsing.PyTorch checkpoint
    (``tools/model_converters/face_parsing_bisenet_to_mmseg.py``) or trained
    with mmseg's tools. Weights load with
    :func:`headswap.utils.checkpoint.load_weights`; ``checkpoint=None`` runs
    with random weights (tests only; warned).

    Args:
        config: mmseg config path (or ``'mmseg::...'``) of a 19-class model.
        checkpoint: Weights path/URL (mmseg checkpoint or bare state dict).
        device: ``'auto'``, ``'cpu'``, ``'cuda:0'``...
        input_size: Side the crops are resized to for the network.
    """

    def __init__(self, config: str = DEFAULT_PARSER_CONFIG, checkpoint: Optional[str] = None,
                 device: str = 'auto', input_size: int = 512):
        from mmengine.registry import DefaultScope
        cfg = load_openmmlab_config(config, 'mmseg')
        model_cfg = cfg.model
        model_cfg.pop('train_cfg', None)
        _drop_init_cfgs(model_cfg)
        if cfg.get('custom_imports'):
            from mmengine.utils import import_modules_from_strings
            import_modules_from_strings(**cfg.custom_imports)
        with DefaultScope.overwrite_default_scope('mmseg'):
            from mmengine.model.utils import revert_sync_batchnorm
            from mmseg.registry import MODELS as MMSEG_MODELS
            model = revert_sync_batchnorm(MMSEG_MODELS.build(model_cfg))
        num_classes = model.decode_head.num_classes
        if num_classes != 19:
            raise ValueError(f'{config}: the parser predicts {num_classes} classes, not the 19 '
                             'face-parsing labels of docs/en/data_format.md')
        load_pretrained(model, checkpoint, 'mmseg face parser')
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.input_size = input_size
        self.name = f'MMSegFaceParser ({config}, {checkpoint or "RANDOM weights"})'

    @torch.no_grad()
    def parse(self, images: Sequence[np.ndarray],
              landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, 0, 0), np.uint8)
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        return self.parse_tensor(x).cpu().numpy()

    @torch.no_grad()
    def parse_tensor(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` uint8 RGB on any device -> ``(B, H, W)`` uint8 labels on
        the parser's device (no host round trip: the inferencer's GPU path)."""
        import torch.nn.functional as F
        h, w = images.shape[-2:]
        # mmseg's preprocessor expects BGR (bgr_to_rgb=True in the config)
        x = images.to(self.device).flip(1).float()
        if (h, w) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size,) * 2, mode='bilinear',
                              align_corners=False)
        data = self.model.data_preprocessor(dict(inputs=list(x)), False)
        s = self.input_size
        metas = [dict(img_shape=(s, s), ori_shape=(s, s), pad_shape=(s, s))] * len(x)
        logits = self.model.encode_decode(data['inputs'], metas)
        if (h, w) != (s, s):
            logits = F.interpolate(logits.float(), size=(h, w), mode='bilinear',
                                   align_corners=False)
        return logits.argmax(1).to(torch.uint8)


def _drop_init_cfgs(cfg) -> None:
    """Remove pretrained-backbone ``init_cfg``s: nothing is downloaded when building."""
    if isinstance(cfg, dict):
        for k in list(cfg):
            if k in ('init_cfg', 'resnet_init_cfg'):
                cfg[k] = None
            else:
                _drop_init_cfgs(cfg[k])
    elif isinstance(cfg, (list, tuple)):
        for c in cfg:
            _drop_init_cfgs(c)
