from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from headswap.registry import MODELS
from ..layers import resize_maps
from .label_attention import BACKENDS, label_attention, resolve_query_labels

__all__ = ['SemanticExemplarWarping', 'WarpResult', 'DEFAULT_LABEL_FALLBACK', 'downsample_labels']

# Where a pixel of A looks when T has no pixel of its label (CelebAMask-HQ ids,
# docs/en/data_format.md). Candidates are tried in order; a label absent from the
# table, or whose candidates are all missing too, keeps A's own colours.
# Accessories and identity-specific parts (glasses, earrings, inner mouth, hair,
# hat, necklace) deliberately keep A's colours: T cannot provide them.
DEFAULT_LABEL_FALLBACK: Dict[int, Tuple[int, ...]] = {
    0: (16, 14),  # background -> cloth, neck
    2: (3, 1),  # left brow -> right brow, skin
    3: (2, 1),
    4: (5, 1),  # left eye -> right eye, skin
    5: (4, 1),
    7: (8, 1),  # left ear -> right ear, skin
    8: (7, 1),
    10: (1,),  # nose -> skin
    12: (13, 1),  # upper lip -> lower lip, skin
    13: (12, 1),
    14: (1,),  # neck -> skin
    16: (0,),  # cloth -> background
}


class WarpResult(NamedTuple):
    """What :class:`SemanticExemplarWarping` returns (``h, w`` = correlation grid).

    Attributes:
        image: Warped exemplar at image resolution ``(B, Cv, H, W)``.
        grid: Warped exemplar at the grid ``(B, Cv, h, w)``.
        valid: ``(B, 1, h, w)``: 1 where the pixel found same-label (or
            fallback-label) pixels in the reference, 0 where it kept its own value.
        query_feats: Normalised features of the query image ``(B, h*w, C)``.
        ref_feats: Normalised features of the reference image ``(B, h*w, C)``.
        query_labels: Query labels at the grid ``(B, h*w)``.
        ref_labels: Reference labels at the grid ``(B, h*w)``.
    """
    image: torch.Tensor
    grid: torch.Tensor
    valid: torch.Tensor
    query_feats: torch.Tensor
    ref_feats: torch.Tensor
    query_labels: torch.Tensor
    ref_labels: torch.Tensor


def downsample_labels(labels: torch.Tensor, factor: int, num_labels: int) -> torch.Tensor:
    """Majority label of each ``factor x factor`` cell: ``(B, 1, H, W)`` -> ``(B, 1, h, w)``.

    Ties go to the smaller id. Counts are taken with one ``bincount`` (memory
    ``B * num_labels * h * w``), not with a one-hot image.
    """
    if factor == 1:
        return labels.long()
    b, _, hh, ww = labels.shape
    h, w = hh // factor, ww // factor
    ys = torch.arange(hh, device=labels.device) // factor
    xs = torch.arange(ww, device=labels.device) // factor
    cell = (ys[:, None] * w + xs[None, :]).view(1, hh * ww)
    lab = labels.view(b, hh * ww).long()
    index = (torch.arange(b, device=labels.device)[:, None] * num_labels + lab) * (h * w) + cell
    counts = torch.bincount(index.view(-1), minlength=b * num_labels * h * w)
    return counts.view(b, num_labels, h, w).argmax(1, keepdim=True)


@MODELS.register_module()
class SemanticExemplarWarping(nn.Module):
    """Semantic-guided exemplar warping (HeSer supplement eq. 8 and section 5).

    Features of the query A and the reference T (VGG-19 layers, resized to a
    grid of ``1/downsample`` of the image and concatenated) go through an
    optional learned 1x1 projection, are centred and L2-normalised; the
    correlation ``Gamma(u, v)`` is their cosine similarity. The exemplar at a
    pixel ``u`` of A with label ``k`` is ``sum_v softmax_v(Gamma(u, v) / tau) T(v)``
    over pixels ``v`` of T with label ``k`` only (see
    :mod:`headswap.models.warping.label_attention` for the backends). A label
    of A absent from T uses ``label_fallback`` (``DEFAULT_LABEL_FALLBACK``:
    ears, nose, neck -> skin, left <-> right parts, ...); when nothing fits, the
    pixel keeps A's own value (``values_a``) and ``valid`` is 0 there. Nothing
    is ever left black or NaN.

    :meth:`warp_back` reuses the same features and labels in the other
    direction (T's pixels attend to A's), for the cycle losses (eqs. 8-9).

    Args:
        in_channels: Channels of each input feature map.
        feature_layers: Names of the VGG-19 layers the model feeds, in order
            (read by the model; one per ``in_channels``).
        proj_channels: Width of the learned 1x1 projection, or None for none
            (the warping then has no parameters).
        downsample: Image pixels per grid cell along each side (4: a 128x128
            grid for 512x512 images).
        temperature: ``tau`` of the softmax.
        num_labels: Number of parsing labels (19 for CelebAMask-HQ).
        backend: ``'dense'``, ``'perlabel'``, ``'blocked'``, ``'flex'``, ``'varlen'`` or
            ``'auto'`` (``varlen`` on CUDA, ``blocked`` elsewhere; :mod:`.label_attention`).
        chunk_elems: Scores per chunk of the ``blocked`` backend.
        label_fallback: Label -> fallback labels of the reference, tried in
            order; None uses ``DEFAULT_LABEL_FALLBACK``, ``{}`` disables it.
    """

    def __init__(self, in_channels: Sequence[int],
                 feature_layers: Sequence[str] = ('relu3_1', 'relu4_1'),
                 proj_channels: Optional[int] = 256, downsample: int = 4,
                 temperature: float = 0.01, num_labels: int = 19, backend: str = 'blocked',
                 chunk_elems: int = 1 << 24,
                 label_fallback: Optional[Dict[int, Sequence[int]]] = None):
        super().__init__()
        if len(in_channels) != len(feature_layers):
            raise ValueError(f'{len(in_channels)} in_channels for {len(feature_layers)} '
                             f'feature_layers {list(feature_layers)}')
        if backend not in BACKENDS:
            raise ValueError(f'unknown warping backend {backend!r}; choose one of {BACKENDS}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if downsample < 1:
            raise ValueError(f'downsample must be >= 1, got {downsample}')
        self.in_channels = list(in_channels)
        self.feature_layers = list(feature_layers)
        self.downsample = int(downsample)
        self.temperature = float(temperature)
        self.num_labels = int(num_labels)
        self.backend = backend
        self.chunk_elems = int(chunk_elems)
        table = DEFAULT_LABEL_FALLBACK if label_fallback is None else label_fallback
        self.label_fallback = {int(k): tuple(int(c) for c in v) for k, v in table.items()}
        self.proj = (nn.Conv2d(sum(in_channels), proj_channels, 1)
                     if proj_channels is not None else None)

    def grid_size(self, height: int, width: int) -> Tuple[int, int]:
        if height % self.downsample or width % self.downsample:
            raise ValueError(f'image size {height}x{width} is not divisible by the warping '
                             f'downsample factor {self.downsample}')
        return height // self.downsample, width // self.downsample

    def embed(self, feats: Sequence[torch.Tensor], size: Tuple[int, int]) -> torch.Tensor:
        """Feature maps ``[(B, C_i, H_i, W_i)]`` -> normalised ``(B, h*w, C)``."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps '
                             f'({self.feature_layers}), got {len(feats)}')
        resized = []
        for f, c in zip(feats, self.in_channels):
            if f.shape[1] != c:
                raise ValueError(f'feature map with {f.shape[1]} channels where {c} were '
                                 'configured (in_channels)')
            resized.append(resize_maps(f, size))
        x = torch.cat(resized, 1)
        if self.proj is not None:
            x = self.proj(x)
        x = x.flatten(2).transpose(1, 2)  # (B, N, C)
        x = x - x.mean(-1, keepdim=True)
        return F.normalize(x, dim=-1)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, values: torch.Tensor,
                q_labels: torch.Tensor, k_labels: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        resolved = resolve_query_labels(q_labels, k_labels, self.num_labels, self.label_fallback)
        out = label_attention(q, k, values, resolved, k_labels, 1.0 / self.temperature,
                              self.backend, self.num_labels, self.chunk_elems)
        return out, (resolved >= 0)

    def forward(self, feats_a: Sequence[torch.Tensor], feats_t: Sequence[torch.Tensor],
                labels_a: torch.Tensor, labels_t: torch.Tensor, values_t: torch.Tensor,
                values_a: Optional[torch.Tensor] = None) -> WarpResult:
        """Warp ``values_t`` (T's image) onto A's layout.

        Args:
            feats_a: Feature maps of A, one per ``in_channels``.
            feats_t: Feature maps of T.
            labels_a: Parsing of A ``(B, 1, H, W)`` long.
            labels_t: Parsing of T ``(B, 1, H, W)`` long.
            values_t: What is warped, ``(B, Cv, H, W)`` (T's image).
            values_a: A's own values ``(B, Cv, H, W)``, the last resort for pixels
                without any match; None means zeros there.
        """
        b, cv, height, width = values_t.shape
        if labels_a.shape[-2:] != (height, width) or labels_t.shape[-2:] != (height, width):
            raise ValueError(f'parsing maps {tuple(labels_a.shape)} / {tuple(labels_t.shape)} '
                             f'do not match the image size {height}x{width}')
        h, w = self.grid_size(height, width)
        q, k = self.embed(feats_a, (h, w)), self.embed(feats_t, (h, w))
        lab_a = downsample_labels(labels_a, self.downsample, self.num_labels).flatten(1)
        lab_t = downsample_labels(labels_t, self.downsample, self.num_labels).flatten(1)
        vt = F.avg_pool2d(values_t, self.downsample) if self.downsample > 1 else values_t
        out, valid = self._attend(q, k, vt.flatten(2).transpose(1, 2), lab_a, lab_t)
        if values_a is not None:
            va = F.avg_pool2d(values_a, self.downsample) if self.downsample > 1 else values_a
            out = torch.where(valid[:, :, None], out, va.flatten(2).transpose(1, 2).to(out))
        grid = out.transpose(1, 2).reshape(b, cv, h, w)
        image = grid if self.downsample == 1 else F.interpolate(
            grid, size=(height, width), mode='bilinear', align_corners=False)
        return WarpResult(image=image, grid=grid, valid=valid.view(b, 1, h, w).to(grid),
                          query_feats=q, ref_feats=k, query_labels=lab_a, ref_labels=lab_t)

    def warp_back(self, result: WarpResult, values: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Warp values on A's grid back onto T's grid with the same correlation.

        ``out(u) = sum_{v in M^k_A} softmax_v(Gamma^k(u, v) / tau) values(v)`` for
        ``u`` in ``M^k_T`` (supplement eq. 8). Labels of T missing from A use the
        same fallback table; pixels without any match are 0 with ``valid`` 0.

        Args:
            result: The forward result (features and labels are reused).
            values: ``(B, Cv, h, w)`` on A's grid, e.g. ``result.grid``.

        Returns:
            ``(B, Cv, h, w)`` on T's grid and ``valid`` ``(B, 1, h, w)``.
        """
        b, cv, h, w = values.shape
        out, valid = self._attend(result.ref_feats, result.query_feats,
                                  values.flatten(2).transpose(1, 2), result.ref_labels,
                                  result.query_labels)
        return out.transpose(1, 2).reshape(b, cv, h, w), valid.view(b, 1, h, w).to(out)
