"""Normalisation layers of the trainable encoders, chosen by config.

Why a choice (``docs/en/stage1_learning.md``): the paper trains stage 1 with one sample
per GPU. BatchNorm then normalises each channel over the positions of a single image, and
the global average pooling that ends an encoder receives channels whose spatial mean is
always zero: what distinguishes one driver from another (a channel being stronger in this
image than in that one) is removed before the embedding, and training-mode and eval-mode
(running statistics) outputs differ. GroupNorm normalises over groups of channels of each
image, so the channels' relative strengths survive, at any batch size, and training and
evaluation compute the same function.
"""
from typing import Callable

import torch.nn as nn

__all__ = ['build_norm_2d', 'norm_2d_factory', 'group_count', 'BN_STATISTICS']

# BatchNorm state that GroupNorm has no counterpart for (dropped when loading BN weights)
BN_STATISTICS = ('running_mean', 'running_var', 'num_batches_tracked')


def group_count(channels: int, max_groups: int = 32, min_group_channels: int = 8) -> int:
    """The most groups (at most ``max_groups``) of at least ``min_group_channels`` channels
    that divide ``channels`` (1 when none does)."""
    for groups in range(min(max_groups, channels // min_group_channels), 0, -1):
        if channels % groups == 0:
            return groups
    return 1


def build_norm_2d(cfg: dict, channels: int) -> nn.Module:
    """A 2-d normalisation layer over ``channels`` from ``cfg``.

    ``dict(type='BN')``: ``nn.BatchNorm2d`` (the paper's encoders, ImageNet-compatible;
    ``tools/train.py`` turns it into SyncBatchNorm under ``sync_bn``).
    ``dict(type='GN', num_groups=None, max_groups=32, min_group_channels=8)``:
    ``nn.GroupNorm``; without ``num_groups`` the count is :func:`group_count`'s.
    Other keys go to the layer (e.g. ``eps``).
    """
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind == 'BN':
        return nn.BatchNorm2d(channels, **cfg)
    if kind == 'GN':
        groups = cfg.pop('num_groups', None)
        max_groups = cfg.pop('max_groups', 32)
        min_group_channels = cfg.pop('min_group_channels', 8)
        if groups is None:
            groups = group_count(channels, max_groups, min_group_channels)
        if channels % groups:
            raise ValueError(f'GroupNorm: {groups} groups do not divide {channels} channels')
        return nn.GroupNorm(groups, channels, **cfg)
    raise ValueError(f"norm_cfg type must be 'BN' or 'GN', got {kind!r}")


def norm_2d_factory(cfg: dict) -> Callable[[int], nn.Module]:
    """``channels -> layer`` for builders that take a ``norm_layer`` callable (torchvision)."""
    build_norm_2d(cfg, 64)  # fail at construction time on a bad config

    def make(channels: int) -> nn.Module:
        return build_norm_2d(cfg, channels)

    return make
