from .iresnet import IResNet
from .pretrained import FrozenModule, load_pretrained
from .vgg19_features import VGG19Features

__all__ = ['FrozenModule', 'IResNet', 'load_pretrained', 'VGG19Features']
