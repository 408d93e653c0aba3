from .charbonnier_loss import CharbonnierLoss

__all__ = ['CharbonnierLoss']
