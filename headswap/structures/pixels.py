"""The pixel convention between data and models, written once.

Datasets and media readers hand out uint8 RGB in ``[0, 255]``; models work in
``[-1, 1]`` floats. The data preprocessors convert on the way in
(:func:`normalize_pixels`); visualisation and inference outputs convert back
(:func:`to_uint8`). Landmarks are image pixels ``(x, y)`` in data and media readers and
``[0, 1]`` of the image side in models (:func:`normalize_landmarks`).
"""
import torch

__all__ = ['normalize_pixels', 'denormalize_pixels', 'to_uint8', 'normalize_landmarks']


def normalize_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or float) ``[0, 255]`` images of any shape -> float32 ``[-1, 1]``."""
    return images.float() / 127.5 - 1.0


def denormalize_pixels(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` images -> ``[0, 255]`` in the same float dtype (not clamped or rounded)."""
    return (images + 1) * 127.5


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` float images of any shape -> uint8 ``[0, 255]`` (clamped, rounded)."""
    return denormalize_pixels(images.detach().float().clamp(-1, 1)).round().to(torch.uint8)


def normalize_landmarks(points: torch.Tensor, side: int) -> torch.Tensor:
    """Pixel ``(x, y)`` of a ``side`` x ``side`` image -> float32 ``[0, 1]`` of the side,
    pixel ``i`` covering ``[i, i + 1) / side`` (its centre at ``(i + 0.5) / side``)."""
    return (points.float() + 0.5) / side
