import torch
import torch.nn as nn

__all__ = ['RunningStandardization']


class RunningStandardization(nn.Module):
    """Standardise features by running statistics over the training data, at any batch size.

    ``(x - mean) / sqrt(var + eps)`` per feature, where ``mean`` and ``var`` are
    exponential moving averages over the samples seen in training (updated under
    ``no_grad``, used as constants by the gradient, the same in training and eval). Unlike
    BatchNorm it works with one sample per GPU (the paper's stage-1 setting) and keeps train
    and test behaviour identical. The first updates average cumulatively
    (``momentum_n = max(momentum, 1 / n)``), so the statistics are usable at once.

    Why it is there (``docs/en/stage1_learning.md``): the encoders' embeddings are dominated
    by a part common to every input; what tells two drivers apart is a few percent of
    their norm. A linear layer on such inputs spends its Adam steps on the common part, and
    the driver-specific part of the mapping learns slowly. Centred, unit-variance inputs
    give the driver-specific directions full-size steps.

    Args:
        num_features: Size of the last dimension.
        momentum: Weight of a new batch in the moving averages once warmed up.
        eps: Added to the variance.

    Shapes: ``(N, num_features)`` -> the same.
    """

    def __init__(self, num_features: int, momentum: float = 0.01, eps: float = 1e-5):
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1], got {momentum}')
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.register_buffer('running_mean', torch.zeros(num_features))
        self.register_buffer('running_var', torch.ones(num_features))
        self.register_buffer('num_updates', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def _update(self, x: torch.Tensor) -> None:
        x = x.detach().float()
        # device-side momentum (no host sync; the update can be recorded in a CUDA graph)
        n = self.num_updates.float() + 1
        m = torch.clamp(1.0 / n, min=self.momentum)
        delta = x.mean(0) - self.running_mean
        self.running_mean.add_(m * delta)
        # spread around the (updated) mean: between-sample variance, also at batch 1
        var = (x - self.running_mean).pow(2).mean(0)
        # the first sample has no spread yet: keep unit variance until a second one
        first = self.num_updates == 0
        self.running_var.copy_(torch.where(first, self.running_var,
                                           torch.lerp(self.running_var, var,
                                                      torch.clamp(1.0 / (n - 1).clamp_min(1),
                                                                  min=self.momentum))))
        self.num_updates.add_(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.num_features:
            raise ValueError(f'RunningStandardization expects {self.num_features} features, '
                             f'got {x.shape[-1]}')
        if self.training:
            self._update(x)
        scale = torch.rsqrt(self.running_var + self.eps)
        return ((x.float() - self.running_mean) * scale).to(x.dtype)

    def extra_repr(self) -> str:
        return f'{self.num_features}, momentum={self.momentum}'
