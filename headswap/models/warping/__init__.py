from .label_attention import BACKENDS, label_attention, resolve_backend, resolve_query_labels
from .semantic_exemplar_warping import (DEFAULT_LABEL_FALLBACK, SemanticExemplarWarping, WarpResult,
                                        downsample_labels)

__all__ = ['BACKENDS', 'label_attention', 'resolve_backend', 'resolve_query_labels',
           'DEFAULT_LABEL_FALLBACK',
           'SemanticExemplarWarping', 'WarpResult', 'downsample_labels']
