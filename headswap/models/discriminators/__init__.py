from .mask_conditioned_discriminator import MaskConditionedDiscriminator
from .patch_discriminator import PatchDiscriminator

__all__ = ['MaskConditionedDiscriminator', 'PatchDiscriminator']
