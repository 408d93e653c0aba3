from .cycle_loss import CycleConsistencyLoss
from .feature_matching_loss import FeatureMatchingLoss
from .gan_loss import HingeGANLoss
from .pixel_loss import L1Loss

__all__ = ['CycleConsistencyLoss', 'FeatureMatchingLoss', 'HingeGANLoss', 'L1Loss']
