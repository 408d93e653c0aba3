"""Inference: swap heads in images and videos (:class:`HeadSwapInferencer`)."""
from .headswap_inferencer import DEFAULT_INFERENCE_SETTINGS, HeadSwapInferencer
from .media import VideoReader, read_image

__all__ = ['HeadSwapInferencer', 'DEFAULT_INFERENCE_SETTINGS', 'read_image', 'VideoReader']
