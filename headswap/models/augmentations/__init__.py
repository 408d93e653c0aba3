from .identity_hiding_augmentation import IdentityHidingAugmentation
from .pose_augmentation import PoseAugmentation

__all__ = ['IdentityHidingAugmentation', 'PoseAugmentation']
