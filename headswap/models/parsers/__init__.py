"""Face-parsing networks usable as mmseg backbones (``type='headswap.FaceParsingBiSeNet'``)."""
from .face_parsing_bisenet import FaceParsingBiSeNet

__all__ = ['FaceParsingBiSeNet']
