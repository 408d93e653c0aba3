from .pretrained import FrozenModule, load_pretrained
from .vgg19_features import VGG19Features

__all__ = ['FrozenModule', 'load_pretrained', 'VGG19Features']
