from .arcface_identity_encoder import ArcFaceIdentityEncoder
from .mobilenet_v2_encoder import MobileNetV2Encoder
from .resnext_encoder import ResNeXtEncoder

__all__ = ['ArcFaceIdentityEncoder', 'MobileNetV2Encoder', 'ResNeXtEncoder']
