from .blending_unet import BlendingUNet

__all__ = ['BlendingUNet']
