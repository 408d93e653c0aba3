from .head2head_data_preprocessor import Head2HeadDataPreprocessor

__all__ = ['Head2HeadDataPreprocessor']
