import torch
import torch.nn as nn

from headswap.registry import MODELS
from ..layers import RunningStandardization, apply_spectral_norm

__all__ = ['AdaINMLP']


@MODELS.register_module()
class AdaINMLP(nn.Module):
    """Two-layer ReLU perceptron from the joint embedding to every AdaIN parameter.

    ``concat(d1, d2, d3, d4) = 1536 -> 768 -> P`` with spectral norm on both
    layers (supplement sec. 3.2). ``P`` is the generator's
    ``num_adain_params``; the aligner fills it in when the config leaves it out.

    Args:
        in_channels: Size of the joint embedding (1536).
        out_channels: Number of AdaIN parameters of the generator.
        hidden_channels: Width of the hidden layer (768).
        spectral_norm: Spectral-normalise both layers.
        input_norm: Standardise the joint embedding first by running statistics
            (:class:`RunningStandardization`; not in the paper). Without it the
            driver-specific part of the embeddings, a few percent of their norm,
            is learned slowly; see ``docs/en/stage1_learning.md``.
        input_norm_momentum: Momentum of those running statistics.

    Shapes: ``(B, in_channels)`` -> ``(B, out_channels)``.
    """

    def __init__(self, in_channels: int = 1536, out_channels: int = 0,
                 hidden_channels: int = 768, spectral_norm: bool = True,
                 input_norm: bool = False, input_norm_momentum: float = 0.01):
        super().__init__()
        if out_channels <= 0:
            raise ValueError(f'AdaINMLP needs out_channels > 0 (the generator\'s number of '
                             f'AdaIN parameters), got {out_channels}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_norm = (RunningStandardization(in_channels, input_norm_momentum)
                           if input_norm else None)
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden_channels, out_channels)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_channels:
            raise ValueError(f'AdaINMLP expects {self.in_channels}-d embeddings, '
                             f'got {x.shape[-1]}')
        if self.input_norm is not None:
            x = self.input_norm(x)
        return self.fc2(self.relu(self.fc1(x)))
