from .adain_mlp import AdaINMLP
from .landmark_heatmap import IBUG68_PARTS, LandmarkHeatmap
from .lpd_generator import LPDGenerator

__all__ = ['AdaINMLP', 'IBUG68_PARTS', 'LandmarkHeatmap', 'LPDGenerator']
