from .head2scene_data_preprocessor import Head2SceneDataPreprocessor

__all__ = ['Head2SceneDataPreprocessor']
