from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .visualization_hook import ImageGridHook

__all__ = ['ImageGridHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'RNGStateHook']
