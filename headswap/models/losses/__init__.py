from .cycle_loss import CycleConsistencyLoss
from .dice_loss import DiceLoss
from .feature_matching_loss import FeatureMatchingLoss
from .gan_loss import HingeGANLoss
from .identity_loss import IdentityLoss
from .pixel_loss import L1Loss

__all__ = [
    'CycleConsistencyLoss', 'DiceLoss', 'FeatureMatchingLoss', 'HingeGANLoss', 'IdentityLoss',
    'L1Loss'
]
