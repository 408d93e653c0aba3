from .adain_mlp import AdaINMLP
from .lpd_generator import LPDGenerator

__all__ = ['AdaINMLP', 'LPDGenerator']
