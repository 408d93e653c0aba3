from .head2head_aligner import Head2HeadAligner

__all__ = ['Head2HeadAligner']
