from .mask_conditioned_discriminator import MaskConditionedDiscriminator

__all__ = ['MaskConditionedDiscriminator']
