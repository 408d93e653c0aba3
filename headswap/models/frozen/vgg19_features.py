from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from headswap.registry import MODELS
from headswap.utils.pretrained import FrozenModule, load_pretrained

__all__ = ['VGG19Features']

# index of each named layer in torchvision's ``vgg19().features``
_LAYERS: Dict[str, int] = {}
_idx = 0
for _block, _convs in enumerate((2, 2, 4, 4, 4), start=1):
    for _c in range(1, _convs + 1):
        _LAYERS[f'conv{_block}_{_c}'] = _idx
        _LAYERS[f'relu{_block}_{_c}'] = _idx + 1
        _idx += 2
    _LAYERS[f'pool{_block}'] = _idx
    _idx += 1
del _idx, _block, _convs, _c

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@MODELS.register_module()
class VGG19Features(FrozenModule):
    """Frozen VGG-19 feature extractor with torchvision's key layout.

    Loads torchvision's ``vgg19`` ImageNet state dict (``features.N.weight``;
    classifier keys are ignored) from a local path or URL given in the config.
    The network is cut after the deepest requested layer.

    Args:
        layers: Layer names to return, e.g. ``('relu1_1', 'relu2_1', 'relu3_1',
            'relu4_1', 'relu5_1')``; ``convB_C``, ``reluB_C`` and ``poolB``.
        checkpoint: Path/URL of the torchvision state dict, or None for random
            weights (warned).
        input_range: ``(low, high)`` value range of input images; they are
            mapped to [0, 1] and normalised with ImageNet statistics.
        base_channels: Width of the first block (64 in VGG-19). Smaller widths
            are for tests only and cannot load a checkpoint.

    Shapes: ``(B, 3, H, W)`` -> list of ``(B, C_l, H_l, W_l)``, one per layer
    (``C_l`` in ``out_channels``).
    """

    def __init__(self,
                 layers: Sequence[str] = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'),
                 checkpoint: Optional[str] = None, input_range: Sequence[float] = (-1., 1.),
                 base_channels: int = 64):
        super().__init__()
        unknown = [n for n in layers if n not in _LAYERS]
        if unknown:
            raise ValueError(f'unknown VGG-19 layers {unknown}; choose from {list(_LAYERS)}')
        if checkpoint is not None and base_channels != 64:
            raise ValueError('a VGG-19 checkpoint needs base_channels=64')
        self.layer_names = list(layers)
        self.layer_ids = [_LAYERS[n] for n in layers]
        # channels of each returned layer: blocks 1-5 are base * (1, 2, 4, 8, 8) wide
        blocks = [int(n.lstrip('convrelupool')[0]) for n in layers]
        self.out_channels = [base_channels * (1, 2, 4, 8, 8)[b - 1] for b in blocks]
        self.features = self._make_features(base_channels, max(self.layer_ids) + 1)
        self.input_range = tuple(float(v) for v in input_range)
        self.register_buffer('mean', torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), False)
        load_pretrained(self.features, checkpoint, 'VGG-19', key_map=self._features_only)
        self.freeze()

    @staticmethod
    def _make_features(base: int, num_layers: int) -> nn.Sequential:
        widths = [base, base * 2, base * 4, base * 8, base * 8]
        layers: List[nn.Module] = []
        in_ch = 3
        for block, convs in enumerate((2, 2, 4, 4, 4)):
            for _ in range(convs):
                layers += [nn.Conv2d(in_ch, widths[block], 3, padding=1), nn.ReLU(inplace=False)]
                in_ch = widths[block]
            layers.append(nn.MaxPool2d(2, 2))
        return nn.Sequential(*layers[:num_layers])

    def _features_only(self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        keep = {}
        for k, v in state.items():
            if k.startswith('features.'):
                idx = int(k.split('.')[1])
                if idx < len(self.features):
                    keep[k[len('features.'):]] = v
        return keep

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        low, high = self.input_range
        x = (x - low) / (high - low)
        x = (x - self.mean) / self.std
        outs = []
        wanted = set(self.layer_ids)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                outs.append(x)
        return [outs[sorted(wanted).index(i)] for i in self.layer_ids]
