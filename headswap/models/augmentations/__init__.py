from .identity_hiding_augmentation import IdentityHidingAugmentation

__all__ = ['IdentityHidingAugmentation']
