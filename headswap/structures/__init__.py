from .data_sample import HeadSwapDataSample

__all__ = ['HeadSwapDataSample']
