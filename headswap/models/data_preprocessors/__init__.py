from .head2head_data_preprocessor import Head2HeadDataPreprocessor
from .head2scene_data_preprocessor import Head2SceneDataPreprocessor
from .head_swap_data_preprocessor import HeadSwapDataPreprocessor

__all__ = ['Head2HeadDataPreprocessor', 'Head2SceneDataPreprocessor', 'HeadSwapDataPreprocessor']
